"""Parts of a generated order: people and addresses, stock movements, discounts, documents.

Spanish and Portuguese names with accents on purpose: the outbox must keep them intact.
"""

from __future__ import annotations

import random
from typing import Any

from connector.sandbox.model import iso_utc

FIRST_NAMES = ("José", "María", "João", "Inês", "Martín", "Sofía", "Conceição", "Agustín")
LAST_NAMES = ("Pérez", "Gómez", "Fernández", "Gonçalves", "Araújo", "Muñoz", "Ibáñez", "Peña")
PLACES = (
    ("AR", "C", "Ciudad Autónoma de Buenos Aires", "Núñez", "Av. del Libertador"),
    ("AR", "X", "Córdoba", "Córdoba", "Bv. San Juan"),
    ("AR", "B", "Buenos Aires", "Mar del Plata", "Güemes"),
    ("BR", "SP", "São Paulo", "São Paulo", "Rua Açaí"),
)
BASE_STOCK_TIME = 1_714_564_800.0  # 2024-05-01 12:00 UTC


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def address(rng: random.Random, phone: str) -> dict[str, Any]:
    country, state_code, state, city, street = rng.choice(PLACES)
    return {
        "CountryId": country,
        "StateCode": state_code,
        "State": state,
        "City": city,
        "Neighborhood": city,
        "StreetName": street,
        "StreetNumber": str(rng.randint(1, 4000)),
        "ZipCode": f"{rng.randint(1000, 9999)}",
        "Notes": "",
        "Description": "Casa",
        "Phone": phone,
        "AlternativePhone": "",
    }


def stock_movement(quantity: int) -> dict[str, Any]:
    """The stock the sale took from the seller's account (PrevStock - Quantity = PostStock)."""
    return {
        "Account": {
            "Id": 1001,
            "DocType": "CUIT",
            "DocNumber": "30-00001001-1",
            "PickupCode": "",
            "OwnCode": "ACC-1001",
            "Name": "Cuenta Sandbox",
            "BusinessName": "Sandbox S.A.",
        },
        "PrevStock": 50,
        "PostStock": 50 - quantity,
        "Quantity": quantity,
        "MinPublicationQuantity": 0,
        "MaxPublicationQuantity": 0,
        "DateCreated": iso_utc(BASE_STOCK_TIME),
    }


def discount(amount: float) -> dict[str, Any]:
    return {
        "Amount": amount,
        "Value": amount,
        "Type": "Cupón",
        "Priority": "1",
        "Notes": "Cupón de bienvenida",
        "Code": "BIENVENIDA",
    }


def buyer(rng: random.Random, name: str, code: int) -> dict[str, Any]:
    phone = f"+54 11 {rng.randint(4000, 4999)}-{rng.randint(1000, 9999)}"
    doc = f"{rng.randint(20_000_000, 45_000_000)}"
    home = address(rng, phone)
    return {
        "Code": code,
        "Owncode": f"CLI-{code}",
        "Name": name,
        "Phone": phone,
        "Email": f"cliente{code}@example.com",
        "DocType": "DNI",
        "DocNumber": doc,
        "Nickname": name.upper().replace(" ", ""),
        "Address": home,
        "BillingInfo": {
            "DocType": "DNI",
            "DocNumber": doc,
            "TaxPayerType": "Consumidor Final",
            "BusinessName": name,
            "StateRegistration": {"DocType": "", "DocNumber": ""},
            "Address": dict(home),
        },
    }


def invoice(order_id: int, when: float) -> dict[str, Any]:
    """Metadata of an invoice attached to a shipped order (content via the documents API)."""
    return {
        "Type": 0,
        "Name": f"Factura B 0001-{order_id:08d}",
        "Extension": "pdf",
        "Fullfilename": f"factura-{order_id}.pdf",
        "Size": 48213,
        "DocumentDate": iso_utc(when + 3600),
        "DateCreated": iso_utc(when + 3600),
    }


def claim(order_id: int, when: float) -> dict[str, Any]:
    return {"ExternalClaimId": 5_000_000 + order_id, "DateCreated": iso_utc(when + 86400)}
