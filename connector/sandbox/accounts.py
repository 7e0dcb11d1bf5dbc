"""Account endpoints (section 3): accounts, price lists, marketplaces and stores."""

from __future__ import annotations

import copy
from typing import Any

from connector.sandbox.binding import ApiError, ApiRequest, ApiResponse, page_response


def _listing(request: ApiRequest, items: list[dict[str, Any]], cap: int = 100) -> ApiResponse:
    response, window = page_response(request.query, items, cap=cap, sort_id="ID", sorts=("ID",))
    response.body["Results"] = copy.deepcopy(items[window])
    return response


def _path_account(request: ApiRequest) -> int:
    """The ``{id}`` of the path; it must be an account served by the key."""
    account = int(request.path_params["id"])
    if account not in request.options.account_ids:
        raise ApiError(404, f"La cuenta {account} no existe o no está vinculada a la API_KEY.")
    return account


def get_accounts(request: ApiRequest) -> ApiResponse:
    options = request.options
    accounts = [
        {
            "Id": account_id,
            "Name": options.account_name
            if account_id == options.account_id
            else f"Cuenta {account_id}",
            "BusinessName": "Sandbox S.A.",
            "DocType": "CUIT",
            "DocNumber": f"30-{account_id:08d}-1",
            "PickupCode": "",
            "OwnCode": f"ACC-{account_id}",
        }
        for account_id in options.account_ids
    ]
    return _listing(request, accounts)


def get_price_lists(request: ApiRequest) -> ApiResponse:
    if "id" in request.path_params:
        _path_account(request)
    return _listing(request, request.options.price_lists)


def get_marketplaces(request: ApiRequest) -> ApiResponse:
    _path_account(request)
    return _listing(request, request.options.marketplaces)


def get_stores(request: ApiRequest) -> ApiResponse:
    _path_account(request)
    return _listing(request, request.options.stores)
