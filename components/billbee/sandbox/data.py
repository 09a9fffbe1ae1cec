"""Deterministic Billbee-shaped records for the sandbox (shapes follow the fixtures and the swagger).

Everything random comes from ``app.rng`` (seeded), historical timestamps are anchored at
``BASE`` so two runs with one seed serve identical data; records added later (API calls,
``POST /_sandbox/seed``) take "now" from ``app.clock`` so polling triggers see them as new.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from skiff.sandbox import Record, SandboxApp
from skiff.sandbox.pdf import make_pdf

__all__ = [
    "ADDRESS_KEYS",
    "BASE",
    "CUSTOMER_KEYS",
    "ERROR_CODES",
    "EVENT_TYPES",
    "ORDER_ADDRESS_KEYS",
    "ORDER_ITEM_KEYS",
    "ORDER_KEYS",
    "ORDER_PATCHABLE_FIELDS",
    "ORDER_STATES",
    "ORDER_USER_KEYS",
    "PAYMENT_TYPES",
    "PRODUCT_KEYS",
    "PRODUCT_PATCHABLE_FIELDS",
    "SHIPPING_CARRIERS",
    "SOLD_PRODUCT_KEYS",
    "WEBHOOK_FILTERS",
    "BillbeeData",
    "fake_pdf",
    "ts",
    "ts_local",
]

# Seeded history ends here; anything created through the API is newer.
BASE = datetime(2024, 1, 1, tzinfo=UTC)

# Billbee.Api.Client ApiResult.ErrorCodeEnum (the spec enumerates 0..29 without names).
ERROR_CODES = [
    "NoError",
    "ApiNotActivated",
    "OrderNotFound",
    "InvoiceNotCreated",
    "CantCreateInvoice",
    "OrderCanceled",
    "OrderDeleted",
    "OrderNotPaid",
    "InternalError",
    "OrderExists",
    "WrongShopId",
    "InvalidData",
    "CreateUser_DuplicateEmail",
    "CreateUser_InvalidEmail",
    "CreateUser_UserRejected",
    "CreateUser_TermsNotAccepted",
    "NoPaidAccount",
    "APIServiceNotBooked",
    "CantCreateDeliveryNote",
]

ORDER_STATES = {
    1: "Bestellt",
    2: "Bestätigt",
    3: "Zahlung erhalten",
    4: "Versendet",
    5: "Reklamation",
    6: "Gelöscht",
    7: "Abgeschlossen",
    8: "Storniert",
    9: "Archiviert",
    10: "Bewertet",
    11: "Mahnung",
    12: "Mahnung 2",
    13: "Gepackt",
    14: "Angeboten",
    15: "Zahlungserinnerung",
    16: "Im Fulfillment",
}
PAID_STATES = {3, 4, 7, 9, 10, 13, 16}
SHIPPED_STATES = {4, 7, 9, 10}
# States whose orders reserve stock (not yet shipped, not cancelled).
OPEN_STATES = {1, 2, 3, 11, 12, 13, 14, 15, 16}

PAYMENT_TYPES = {
    1: "Bankueberweisung",
    2: "Nachnahme",
    3: "PayPal",
    4: "Barzahlung",
    6: "Gutschein",
    19: "Sofortüberweisung",
    22: "Andere",
    23: "Lastschrift",
    25: "KLARNA",
    26: "Rechnung",
    31: "Kreditkarte",
    44: "AmazonPayments",
    59: "Vorkasse",
    61: "Amazon_Marketplace",
    63: "Stripe",
    79: "PayPal_Express",
}

SHIPPING_CARRIERS = [
    "other",
    "dhlExpress",
    "dhl",
    "hermes",
    "dpd",
    "ups",
    "gls",
    "dpag",
    "OePost",
    "fedex",
    "generalOvernight",
    "tnt",
    "liefery",
    "iloxx",
    "parcel_one",
    "cargo_international",
    "pin_mail",
    "usPostalService",
    "amazon_logistics",
]

SHIPMENT_TYPES = ["Shipment", "Retoure"]
ACCOUNT_SYNC_STATES = {0: "Ok", 1: "Error", 2: "Warning", 254: "NotSynced", 255: "Unknown"}
SHOP_ACCOUNT_TYPES = {
    1: "Ebay",
    2: "Amazon",
    3: "Shopify",
    4: "Shopware",
    5: "WooCommerce",
    6: "Magento",
    7: "Etsy",
    8: "Avocadostore",
    9: "Manual",
    10: "BillbeeApi",
}

# Billbee.Api.Client EventTypeEnum; German texts where the UI has them (the fixture: 55 "Nutzung der API").
_EVENT_NAMES = [
    "OrderImported",
    "BillPrinted",
    "LabelPrinted",
    "AccountCreated",
    "AccountDeleted",
    "OrderDeleted",
    "OrderDetailDeleted",
    "OrderDetailAdded",
    "AccountSynced",
    "OrderStateSynced",
    "OrderExported",
    "DeliveryNotePrinted",
    "OrderShipped",
    "OrderPaid",
    "UserAssignedToOrder",
    "OrderStateChanged",
    "CustomersJoined",
    "EMailChanged",
    "ShipmentCreated",
    "OrderCommitPrinted",
    "OrderForwarded",
    "AccountSyncError",
    "CustomerInvoiceDownload",
    "CustomerNotified",
    "OrderCanceled",
    "ShipmentStatus",
    "CustomerFileDownload",
    "PaymentImported",
    "RuleExecuted",
    "CreatedByApi",
    "OfferPrinted",
    "EmailSent",
    "EmailFailed",
    "OrderForwardFailed",
    "OrderDataForwardFailed",
    "SendFileToCloudDeviceFailed",
    "LogIn",
    "LogOut",
    "BookService",
    "CancelService",
    "Impersonated",
    "StockSynced",
    "StockSyncFailed",
    "UploadedFile",
    "PaymentBatchRead",
    "PaymentBatchFailed",
    "UserAcountPayDetailsChanged",
    "Translate",
    "ProductUploaded",
    "OrderExportedToBookkeeping",
    "OrderExportToBookkeepingFailed",
    "PaymentExportedToBookkeeping",
    "PaymentExportToBookkeepingFailed",
    "AccountPaymentTypeChanged",
    "AccountTestPhaseChanged",
    "ApiUsage",
    "ProductUploadFailed",
    "RecalculatedStockMin",
    "RecalculatedStockDesired",
    "ShipmentFailed",
    "CustomerFileDownloadDaWanda",
    "OrderDetailModified",
    "OrderModified",
    "OrderStateTransfered",
    "OrderStateTransferFailed",
    "PaymentCreated",
]
_EVENT_TEXTS = {
    0: "Auftrag importiert",
    1: "Rechnung erstellt",
    11: "Lieferschein erstellt",
    12: "Auftrag versendet",
    13: "Zahlung erhalten",
    15: "Auftragsstatus geändert",
    18: "Sendung erstellt",
    28: "Regel ausgeführt",
    29: "Per API erstellt",
    31: "E-Mail versendet",
    55: "Nutzung der API",
    62: "Auftrag geändert",
}
EVENT_TYPES = {i: _EVENT_TEXTS.get(i, name) for i, name in enumerate(_EVENT_NAMES)}

ORDER_PATCHABLE_FIELDS = [
    "AcceptLossOfReturnRight",
    "AdjustmentCost",
    "AdjustmentReason",
    "CustomInvoiceNote",
    "CustomerNumber",
    "CustomerVatId",
    "DistributionCenter",
    "InvoiceAddress",
    "LanguageCode",
    "OrderNumber",
    "PaidAmount",
    "PaymentInstruction",
    "PaymentMethod",
    "PaymentReference",
    "PaymentTransactionId",
    "SellerComment",
    "ShipWeightKg",
    "ShippingAddress",
    "ShippingCost",
    "ShippingProfileId",
    "TaxRate1",
    "TaxRate2",
    "VatId",
    "VatMode",
]
PRODUCT_PATCHABLE_FIELDS = [
    "BasicAttributes",
    "CostPrice",
    "CountryOfOrigin",
    "DeliveryTime",
    "Description",
    "EAN",
    "ExportDescription",
    "HeightCm",
    "InvoiceText",
    "IsCustomizable",
    "IsDeactivated",
    "IsDigital",
    "LengthCm",
    "LowStock",
    "Manufacturer",
    "Materials",
    "Price",
    "SKU",
    "ShortDescription",
    "StockCode",
    "StockDesired",
    "StockWarning",
    "Tags",
    "TaricNumber",
    "Title",
    "Type",
    "Unit",
    "UnitsPerItem",
    "VatIndex",
    "Weight",
    "WeightNet",
    "WidthCm",
]

WEBHOOK_FILTERS = {
    "*": "All events",
    "order.created": "An order was created or imported",
    "order.updated": "An order was changed",
    "order.statechanged": "The state of an order changed",
    "order.shipped": "A shipment was added to an order",
    "order.deleted": "An order was deleted",
    "product.created": "A product was created",
    "product.updated": "A product was changed",
    "product.stockchanged": "The stock of a product changed",
    "customer.created": "A customer was created",
    "customer.updated": "A customer was changed",
}

_FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hannes",
    "Ida",
    "Jonas",
    "Lena",
    "Max",
    "Mia",
    "Noah",
    "Paula",
    "Tom",
]
_LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
]
_CITIES = [
    ("Berlin", "10115", "BE"),
    ("Hamburg", "20095", "HH"),
    ("München", "80331", "BY"),
    ("Köln", "50667", "NW"),
    ("Frankfurt am Main", "60311", "HE"),
    ("Leipzig", "04109", "SN"),
    ("Stuttgart", "70173", "BW"),
    ("Dresden", "01067", "SN"),
]
_STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Schulstraße",
    "Lindenallee",
    "Bergstraße",
    "Kirchplatz",
]
_COMPANIES = [None, None, None, "Muster GmbH", "Beispiel AG", "Kontor KG"]
_PRODUCTS = [
    ("Bienenwachstuch 3er Set", "Beeswax wraps, set of 3", 14.9, 1),
    ("Honig Akazie 500 g", "Acacia honey 500 g", 8.5, 2),
    ("Kerze Bienenwachs groß", "Beeswax candle, large", 12.0, 1),
    ("Holzlöffel Buche", "Beech wood spoon", 4.2, 1),
    ("Leinen Geschirrtuch", "Linen tea towel", 9.9, 1),
    ("Seife Lavendel", "Lavender soap", 5.5, 1),
    ("Bürste Naturborste", "Natural bristle brush", 7.8, 1),
    ("Baumwollbeutel", "Cotton bag", 3.9, 1),
    ("Thermoskanne 1 l", "Vacuum flask 1 l", 24.9, 1),
    ("Tee Pfefferminz 100 g", "Peppermint tea 100 g", 6.4, 2),
]
_CATEGORIES = [(8733, "Haushalt"), (8734, "Lebensmittel"), (8735, "Pflege"), (8736, "Küche")]

ORDER_KEYS = (
    "BillBeeOrderId",
    "BillBeeParentOrderId",
    "Id",
    "AcceptLossOfReturnRight",
    "OrderNumber",
    "State",
    "VatMode",
    "CreatedAt",
    "ShippedAt",
    "ConfirmedAt",
    "PayedAt",
    "SellerComment",
    "Comments",
    "InvoiceNumberPrefix",
    "InvoiceNumberPostfix",
    "InvoiceNumber",
    "InvoiceDate",
    "InvoiceAddress",
    "ShippingAddress",
    "PaymentMethod",
    "ShippingCost",
    "TotalCost",
    "AdjustmentCost",
    "AdjustmentReason",
    "OrderItems",
    "Currency",
    "Seller",
    "Buyer",
    "UpdatedAt",
    "TaxRate1",
    "TaxRate2",
    "VatId",
    "Tags",
    "ShipWeightKg",
    "LanguageCode",
    "PaidAmount",
    "ShippingProfileId",
    "ShippingProfileName",
    "ShippingProviderId",
    "ShippingProviderProductId",
    "ShippingProviderName",
    "ShippingProviderProductName",
    "PaymentInstruction",
    "IsCancelationFor",
    "PaymentTransactionId",
    "DeliverySourceCountryCode",
    "CustomInvoiceNote",
    "CustomerNumber",
    "DistributionCenter",
    "Customer",
    "Payments",
    "RebateDifference",
    "ShippingIds",
    "History",
    "LastModifiedAt",
    "ApiAccountId",
    "ApiAccountName",
    "MerchantVatId",
    "CustomerVatId",
    "PaymentReference",
    "ShippingServices",
    "ArchivedAt",
    "RestoredAt",
    "IsFromBillbeeApi",
    "WebUrl",
)
PRODUCT_KEYS = (
    "Id",
    "Type",
    "Title",
    "InvoiceText",
    "ShortDescription",
    "Images",
    "Description",
    "BasicAttributes",
    "SKU",
    "EAN",
    "Sources",
    "Category1",
    "Category2",
    "Category3",
    "Manufacturer",
    "VatIndex",
    "Price",
    "CostPrice",
    "Vat1Rate",
    "Vat2Rate",
    "Materials",
    "Tags",
    "StockDesired",
    "StockCurrent",
    "StockWarning",
    "LowStock",
    "StockCode",
    "StockReduceItemsPerSale",
    "Stocks",
    "Weight",
    "WeightNet",
    "Unit",
    "UnitsPerItem",
    "SoldAmount",
    "SoldSumGross",
    "SoldSumNet",
    "SoldSumNetLast30Days",
    "SoldSumGrossLast30Days",
    "SoldAmountLast30Days",
    "ShippingProductId",
    "IsDigital",
    "IsCustomizable",
    "DeliveryTime",
    "Recipient",
    "Occasion",
    "CountryOfOrigin",
    "ExportDescription",
    "ExportDescriptionMultiLanguage",
    "TaricNumber",
    "CustomFields",
    "Condition",
    "WidthCm",
    "LengthCm",
    "HeightCm",
    "BillOfMaterial",
    "IsDeactivated",
)
CUSTOMER_KEYS = (
    "Id",
    "Name",
    "Email",
    "Tel1",
    "Tel2",
    "Number",
    "PriceGroupId",
    "LanguageId",
    "DefaultMailAddress",
    "DefaultCommercialMailAddress",
    "DefaultStatusUpdatesMailAddress",
    "DefaultPhone1",
    "DefaultPhone2",
    "DefaultFax",
    "VatId",
    "Type",
    "MetaData",
    "ArchivedAt",
    "RestoredAt",
)
ADDRESS_KEYS = (
    "Id",
    "AddressType",
    "CustomerId",
    "Company",
    "FirstName",
    "LastName",
    "Name2",
    "Street",
    "Housenumber",
    "Zip",
    "City",
    "State",
    "CountryCode",
    "Email",
    "Tel1",
    "Tel2",
    "Fax",
    "AddressAddition",
    "ArchivedAt",
    "RestoredAt",
)
ORDER_ITEM_KEYS = (
    "BillbeeId",
    "TransactionId",
    "Product",
    "Quantity",
    "TotalPrice",
    "TaxAmount",
    "TaxIndex",
    "Discount",
    "Attributes",
    "GetPriceFromArticleIfAny",
    "IsCoupon",
    "ShippingProfileId",
    "DontAdjustStock",
    "UnrebatedTotalPrice",
    "SerialNumber",
    "InvoiceSKU",
)
SOLD_PRODUCT_KEYS = (
    "OldId",
    "Id",
    "Title",
    "Weight",
    "SKU",
    "SkuOrId",
    "IsDigital",
    "Images",
    "EAN",
    "PlatformData",
    "TARICCode",
    "CountryOfOrigin",
    "BillbeeId",
    "Type",
)
ORDER_ADDRESS_KEYS = (
    "BillbeeId",
    "FirstName",
    "LastName",
    "Company",
    "NameAddition",
    "Street",
    "HouseNumber",
    "Zip",
    "City",
    "CountryISO2",
    "Country",
    "Line2",
    "Email",
    "State",
    "Phone",
)
ORDER_USER_KEYS = (
    "Platform",
    "BillbeeShopName",
    "BillbeeShopId",
    "Id",
    "Nick",
    "FirstName",
    "LastName",
    "FullName",
    "Email",
)


def ts(dt: datetime) -> str:
    """Billbee's DateTimeOffset style (as in the order fixtures): ``2022-07-22T09:54:25.31+00:00``."""
    # Json.NET drops trailing zeros of the fraction ("...:25.31", "...:25").
    text = dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
    return text.rstrip("0").rstrip(".") + "+00:00"


def ts_local(dt: datetime) -> str:
    """Billbee's DateTime style without an offset (events, invoices): ``2022-07-16T09:56:01.903``."""
    return ts(dt)[: -len("+00:00")]


def fake_pdf(title: str) -> str:
    """A tiny valid one-page PDF, base64-encoded (what ``includePdf=true`` returns)."""
    return base64.b64encode(make_pdf(title)).decode()


def _mls(de: str, en: str) -> list[dict[str, Any]]:
    return [{"Text": de, "LanguageCode": "DE"}, {"Text": en, "LanguageCode": "EN"}]


class BillbeeData:
    """Builds and stores records; one instance per populate (it holds the id counters)."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.rng: random.Random = app.rng
        store = app.store
        self.orders = store.table("orders", id_field="BillBeeOrderId", start_id=100000000100001)
        self.customers = store.table("customers", id_field="Id", start_id=100000000200001)
        self.addresses = store.table("addresses", id_field="Id", start_id=100000000300001)
        self.products = store.table("products", id_field="Id", start_id=100000000400001)
        self.shipments = store.table("shipments", id_field="BillbeeId", start_id=100000000500001)
        self.events = store.table("events", id_field="Id", start_id=100000000600001)
        self.images = store.table("images", id_field="Id", start_id=400000001)
        self.custom_fields = store.table("custom_fields", id_field="Id", start_id=100000000002001)
        self.webhooks = store.table("webhooks", id_field="Id")
        self.shops = store.table("shopaccounts", id_field="Id")
        self.stocks = store.table("stocks", id_field="Id")
        self.layouts = store.table("layouts", id_field="Id")
        self.cloud_storages = store.table("cloudstorages", id_field="Id")
        self.providers = store.table("providers", id_field="id")
        self.accounts = store.table("accounts", id_field="UserId")
        # Facts the spec models do not carry, kept beside the records.
        self.product_created: dict[int, datetime] = {}
        self.shipment_order: dict[int, int] = {}
        self.shop_platform: dict[int, str] = {}
        self.delivery_notes: dict[int, Record] = {}
        self.customer_address: dict[int, Record] = {}
        self.invoice_counter = 1000
        self._serial = 1000

    # ------------------------------------------------------------------ helpers

    def serial(self) -> int:
        self._serial += 1
        return 100000001000000 + self._serial

    def now(self) -> datetime:
        return self.app.clock.now()

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(_FIRST), self.rng.choice(_LAST)

    # ------------------------------------------------------------------ static tables

    def populate_static(self) -> None:
        for shop_id, kind, name, platform in [
            (100000000092372, 3, "Shopify Naturwaren", "Shopify"),
            (100000000092373, 2, "Amazon DE", "Amazon"),
            (100000000092374, 1, "eBay Shop", "Ebay"),
            (100000000092375, 10, "Billbee API", "BillbeeApi"),
        ]:
            self.shops.insert(
                {
                    "Id": shop_id,
                    "AccountType": kind,
                    "Name": name,
                    "LastSyncDate": ts(BASE - timedelta(minutes=5)),
                    "LastSyncState": 0,
                }
            )
            self.shop_platform[shop_id] = platform
        self.stocks.insert({"Id": 266, "Name": "Lager 1", "Description": "Hauptlager", "IsDefault": True})
        self.stocks.insert({"Id": 267, "Name": "Lager 2", "Description": "Außenlager", "IsDefault": False})
        for layout_id, name, kind in [
            (100000000132968, "Rechnung", 0),
            (100000000132969, "Auftragsbestätigung", 1),
            (100000000132970, "Lieferschein", 2),
            (100000000132971, "Angebot", 3),
            (100000000132972, "Mahnung", 4),
            (100000000132973, "Gutschrift", 5),
        ]:
            self.layouts.insert({"Id": layout_id, "Name": name, "Type": kind})
        self.cloud_storages.insert({"Id": 1, "Name": "GDrive", "Type": "GoogleDriveStorage", "UsedAsPrinter": True})
        self.cloud_storages.insert({"Id": 2, "Name": "Dropbox", "Type": "DropboxStorage", "UsedAsPrinter": False})
        self.providers.insert(
            {
                "id": 100000000022240,
                "name": "DHL",
                "products": [
                    {"id": 100000000288647, "displayName": "DHL Paket", "productName": "V01PAK;01"},
                    {"id": 100000000288648, "displayName": "DHL Warenpost", "productName": "V62WP;01"},
                ],
            }
        )
        self.providers.insert(
            {
                "id": 100000000022241,
                "name": "DPD",
                "products": [{"id": 100000000288650, "displayName": "DPD Classic", "productName": "CL"}],
            }
        )
        self.custom_fields.insert(
            {
                "Id": None,
                "Name": "Multi Dropdown",
                "Configuration": {"Choices": "Test1\nTest2\nTest3", "Multiple": True},
                "Type": 3,
                "IsNullable": True,
            }
        )
        self.custom_fields.insert({"Id": None, "Name": "Material", "Configuration": {}, "Type": 0, "IsNullable": True})
        self.custom_fields.insert(
            {"Id": None, "Name": "Bio-zertifiziert", "Configuration": {}, "Type": 2, "IsNullable": False}
        )

    # ------------------------------------------------------------------ customers

    def make_customer(self, created: datetime) -> Record:
        first, last = self._person()
        email = f"{first}.{last}{self.rng.randint(1, 999)}@example.com".lower()
        phone = f"+49 30 {self.rng.randint(1000000, 9999999)}"
        mail_meta = {"Id": self.serial(), "TypeId": 1, "TypeName": "EMail", "SubType": "", "Value": email}
        phone_meta = {"Id": self.serial(), "TypeId": 2, "TypeName": "Phone", "SubType": "", "Value": phone}
        number = len(self.customers) + 1
        customer = self.customers.insert(
            {
                "Id": None,
                "Name": f"{first} {last}",
                "Email": email,
                "Tel1": phone,
                "Tel2": None,
                "Number": number,
                "PriceGroupId": 1818,
                "LanguageId": 3,
                "DefaultMailAddress": mail_meta,
                "DefaultCommercialMailAddress": mail_meta,
                "DefaultStatusUpdatesMailAddress": mail_meta,
                "DefaultPhone1": phone_meta,
                "DefaultPhone2": None,
                "DefaultFax": None,
                "VatId": None,
                "Type": 0,
                "MetaData": [mail_meta, phone_meta],
                "ArchivedAt": None,
                "RestoredAt": None,
            }
        )
        self.make_address(customer, address_type=1, first=first, last=last, email=email, phone=phone)
        return customer

    def make_address(
        self,
        customer: Record,
        *,
        address_type: int,
        first: str | None = None,
        last: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> Record:
        if first is None or last is None:
            first, last = self._person()
        city, zip_code, state = self.rng.choice(_CITIES)
        address = self.addresses.insert(
            {
                "Id": None,
                "AddressType": address_type,
                "CustomerId": customer["Id"],
                "Company": self.rng.choice(_COMPANIES),
                "FirstName": first,
                "LastName": last,
                "Name2": None,
                "Street": self.rng.choice(_STREETS),
                "Housenumber": str(self.rng.randint(1, 120)),
                "Zip": zip_code,
                "City": city,
                "State": state,
                "CountryCode": "DE",
                "Email": email,
                "Tel1": phone,
                "Tel2": None,
                "Fax": None,
                "AddressAddition": None,
                "ArchivedAt": None,
                "RestoredAt": None,
            }
        )
        self.customer_address.setdefault(customer["Id"], address)
        return address

    # ------------------------------------------------------------------ products

    def make_product(self, created: datetime, index: int | None = None) -> Record:
        n = len(self.products) if index is None else index
        de, en, price, vat_index = _PRODUCTS[n % len(_PRODUCTS)]
        variant = n // len(_PRODUCTS)
        if variant:
            de, en = f"{de} V{variant}", f"{en} v{variant}"
        sku = f"BB-{1000 + n}"
        category = self.rng.choice(_CATEGORIES)
        stock = float(self.rng.randint(0, 80))
        product = self.products.insert(
            {
                "Id": None,
                "Type": 1,
                "Title": _mls(de, en),
                "InvoiceText": _mls(de, en),
                "ShortDescription": _mls(f"{de} – kurz", f"{en} – short"),
                "Images": [],
                "Description": _mls(f"{de}: nachhaltig hergestellt.", f"{en}: sustainably made."),
                "BasicAttributes": [],
                "SKU": sku,
                "EAN": f"40{self.rng.randint(10**10, 10**11 - 1)}",
                "Sources": [
                    {
                        "Id": self.rng.randint(36000000, 36999999),
                        "Source": "manual",
                        "SourceId": sku,
                        "ApiAccountName": "Billbee API",
                        "ApiAccountId": 100000000092375,
                        "ExportFactor": 1.0,
                        "StockSyncInactive": False,
                        "StockSyncMin": None,
                        "StockSyncMax": None,
                        "UnitsPerItem": 1.0,
                        "Custom": None,
                    }
                ],
                "Category1": {"Id": category[0], "Name": category[1]},
                "Category2": None,
                "Category3": None,
                "Manufacturer": "Bienenhof Sandbox",
                "VatIndex": vat_index,
                "Price": round(price + variant * 0.5, 2),
                "CostPrice": round(price * 0.4, 2),
                "Vat1Rate": 19.0,
                "Vat2Rate": 7.0,
                "Materials": [],
                "Tags": [],
                "StockDesired": 50.0,
                "StockCurrent": stock,
                "StockWarning": 5.0,
                "LowStock": stock < 5,
                "StockCode": f"R{self.rng.randint(1, 9)}-F{self.rng.randint(1, 30)}",
                "StockReduceItemsPerSale": 1.0,
                "Stocks": [
                    {
                        "Name": "Lager 1",
                        "StockId": 266,
                        "StockCurrent": stock,
                        "StockCurrentIsCalculated": False,
                        "StockWarning": 5.0,
                        "StockCode": None,
                        "UnfulfilledAmount": 0.0,
                        "StockDesired": 50.0,
                    }
                ],
                "Weight": self.rng.choice([100, 250, 500, 1000]),
                "WeightNet": None,
                "Unit": 1,
                "UnitsPerItem": 1.0,
                "SoldAmount": 0.0,
                "SoldSumGross": 0.0,
                "SoldSumNet": 0.0,
                "SoldSumNetLast30Days": 0.0,
                "SoldSumGrossLast30Days": 0.0,
                "SoldAmountLast30Days": 0.0,
                "ShippingProductId": None,
                "IsDigital": False,
                "IsCustomizable": False,
                "DeliveryTime": 2,
                "Recipient": None,
                "Occasion": None,
                "CountryOfOrigin": "DE",
                "ExportDescription": en,
                "ExportDescriptionMultiLanguage": [],
                "TaricNumber": None,
                "CustomFields": [],
                "Condition": 1,
                "WidthCm": None,
                "LengthCm": None,
                "HeightCm": None,
                "BillOfMaterial": None,
                "IsDeactivated": False,
            }
        )
        self.product_created[product["Id"]] = created
        if n % 3 == 0:
            self.add_image(product, f"https://images.example.com/products/{sku}.jpg", is_default=True)
        field = self.custom_fields.first()
        if field is not None and n % 4 == 0:
            product["CustomFields"].append(
                {
                    "Id": self.serial(),
                    "DefinitionId": field["Id"],
                    "Definition": field,
                    "ArticleId": product["Id"],
                    "Value": ["Test1"],
                }
            )
        return product

    def add_image(self, product: Record, url: str, *, is_default: bool = False, position: int | None = None) -> Record:
        image = self.images.insert(
            {
                "Url": url,
                "Id": None,
                "ThumbPathExt": None,
                "ThumbUrl": url,
                "Position": position if position is not None else len(product["Images"]) + 1,
                "IsDefault": is_default,
                "ArticleId": product["Id"],
            }
        )
        image["ThumbPathExt"] = f"thumbs/{product['Id']}/100/{image['Id']}.png"
        product["Images"].append(image)
        return image

    # ------------------------------------------------------------------ orders

    def _order_address(self, customer: Record) -> Record:
        address = self.customer_address.get(customer["Id"])
        first, _, last = str(customer["Name"]).partition(" ")
        return {
            "BillbeeId": address["Id"] if address else self.serial(),
            "FirstName": first,
            "LastName": last,
            "Company": address["Company"] if address else None,
            "NameAddition": None,
            "Street": address["Street"] if address else "Hauptstraße",
            "HouseNumber": address["Housenumber"] if address else "1",
            "Zip": address["Zip"] if address else "10115",
            "City": address["City"] if address else "Berlin",
            "CountryISO2": "DE",
            "Country": "DE",
            "Line2": None,
            "Email": customer["Email"],
            "State": address["State"] if address else None,
            "Phone": customer["Tel1"],
        }

    def _sold_product(self, product: Record) -> Record:
        return {
            "OldId": None,
            "Id": str(product["Id"]),
            "Title": product["Title"][0]["Text"],
            "Weight": product["Weight"],
            "SKU": product["SKU"],
            "SkuOrId": product["SKU"],
            "IsDigital": False,
            "Images": [
                {
                    "Url": i["Url"],
                    "IsDefaultImage": i["IsDefault"],
                    "Position": i["Position"],
                    "ExternalId": None,
                }
                for i in product["Images"]
            ],
            "EAN": product["EAN"],
            "PlatformData": None,
            "TARICCode": None,
            "CountryOfOrigin": "DE",
            "BillbeeId": product["Id"],
            "Type": 1,
        }

    def make_order(
        self, created: datetime, state: int | None = None, *, history: bool = True, fresh: bool = False
    ) -> Record:
        """An order created at ``created``; ``fresh``: all its timestamps are ``created``."""
        rng = self.rng
        customers = self.customers.list()
        customer = rng.choice(customers) if customers else self.make_customer(created)
        shops = self.shops.list()
        shop = shops[rng.randrange(3)] if len(shops) >= 3 else shops[0]
        platform = self.shop_platform.get(shop["Id"], "manual")
        if state is None:
            state = rng.choices(
                [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 15, 16], weights=[8, 5, 10, 30, 1, 1, 25, 3, 5, 4, 2, 6]
            )[0]
        items = []
        products = self.products.list()
        total = 0.0
        tax = 0.0
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            product = rng.choice(products) if products else self.make_product(created)
            quantity = float(rng.choice([1, 1, 1, 2, 3]))
            gross = round(product["Price"] * quantity, 2)
            rate = 19.0 if product["VatIndex"] == 1 else 7.0
            item_tax = gross - gross / (1 + rate / 100)
            total += gross
            tax += item_tax
            items.append(
                {
                    "BillbeeId": self.serial(),
                    "TransactionId": None,
                    "Product": self._sold_product(product),
                    "Quantity": quantity,
                    "TotalPrice": gross,
                    "TaxAmount": round(item_tax, 4),
                    "TaxIndex": product["VatIndex"],
                    "Discount": 0.0,
                    "Attributes": [],
                    "GetPriceFromArticleIfAny": False,
                    "IsCoupon": False,
                    "ShippingProfileId": None,
                    "DontAdjustStock": False,
                    "UnrebatedTotalPrice": gross,
                    "SerialNumber": None,
                    "InvoiceSKU": product["SKU"],
                }
            )
        shipping_cost = rng.choice([0.0, 4.9, 4.9, 5.9])
        total_cost = round(total + shipping_cost, 2)
        later = (lambda _delta: created) if fresh else (lambda delta: created + delta)
        confirmed = later(timedelta(minutes=rng.randint(1, 90)))
        paid = later(timedelta(hours=rng.randint(1, 48))) if state in PAID_STATES else None
        shipped = later(timedelta(hours=rng.randint(50, 120))) if state in SHIPPED_STATES else None
        has_invoice = state in PAID_STATES and rng.random() < 0.8
        modified = max(t for t in (created, confirmed, paid, shipped) if t is not None)
        if not fresh:
            modified += timedelta(seconds=rng.randint(0, 3600), milliseconds=rng.randint(0, 999))
            if created <= BASE < modified:
                modified = BASE - timedelta(milliseconds=rng.randint(1, 999))
        number = len(self.orders) + 1
        buyer = {
            "Platform": platform,
            "BillbeeShopName": shop["Name"],
            "BillbeeShopId": shop["Id"],
            "Id": str(customer["Id"]),
            "Nick": None,
            "FirstName": str(customer["Name"]).split(" ")[0],
            "LastName": str(customer["Name"]).split(" ")[-1],
            "FullName": customer["Name"],
            "Email": customer["Email"],
        }
        seller = {
            "Platform": platform,
            "BillbeeShopName": shop["Name"],
            "BillbeeShopId": shop["Id"],
            "Id": None,
            "Nick": None,
            "FirstName": None,
            "LastName": None,
            "FullName": None,
            "Email": None,
        }
        address = self._order_address(customer)
        order: Record = {
            "BillBeeOrderId": None,
            "BillBeeParentOrderId": None,
            "Id": f"#{20000 + number}",
            "AcceptLossOfReturnRight": False,
            "OrderNumber": f"SO-{20000 + number}",
            "State": state,
            "VatMode": 0,
            "CreatedAt": ts(created),
            "ShippedAt": ts(shipped) if shipped else None,
            "ConfirmedAt": ts(confirmed),
            "PayedAt": ts(paid) if paid else None,
            "SellerComment": None,
            "Comments": [],
            "InvoiceNumberPrefix": "RE-" if has_invoice else None,
            "InvoiceNumberPostfix": None,
            "InvoiceNumber": self.next_invoice_number() if has_invoice else None,
            "InvoiceDate": ts(paid or confirmed) if has_invoice else None,
            "InvoiceAddress": address,
            "ShippingAddress": dict(address),
            "PaymentMethod": rng.choice([1, 3, 3, 22, 26, 31]),
            "ShippingCost": shipping_cost,
            "TotalCost": total_cost,
            "AdjustmentCost": 0.0,
            "AdjustmentReason": None,
            "OrderItems": items,
            "Currency": "EUR",
            "Seller": seller,
            "Buyer": buyer,
            "UpdatedAt": ts(modified),
            "TaxRate1": 19.0,
            "TaxRate2": 7.0,
            "VatId": None,
            "Tags": rng.choice([[], [], [], ["Express"], ["Geschenk"], ["B2B"], ["Express", "Geschenk"]]),
            "ShipWeightKg": round(sum(i["Product"]["Weight"] * i["Quantity"] for i in items) / 1000, 3),
            "LanguageCode": "DE",
            "PaidAmount": total_cost if paid else 0.0,
            "ShippingProfileId": None,
            "ShippingProfileName": None,
            "ShippingProviderId": None,
            "ShippingProviderProductId": None,
            "ShippingProviderName": None,
            "ShippingProviderProductName": None,
            "PaymentInstruction": None,
            "IsCancelationFor": None,
            "PaymentTransactionId": f"txn-{rng.randint(10**8, 10**9 - 1)}" if paid else None,
            "DeliverySourceCountryCode": "DE",
            "CustomInvoiceNote": None,
            "CustomerNumber": str(customer["Number"]),
            "DistributionCenter": None,
            "Customer": customer,
            "Payments": [],
            "RebateDifference": 0.0,
            "ShippingIds": [],
            "History": [],
            "LastModifiedAt": ts(modified),
            "ApiAccountId": shop["Id"],
            "ApiAccountName": shop["Name"],
            "MerchantVatId": "DE123456789",
            "CustomerVatId": None,
            "PaymentReference": f"SO-{20000 + number}",
            "ShippingServices": [],
            "ArchivedAt": ts(modified) if state == 9 else None,
            "RestoredAt": None,
            "IsFromBillbeeApi": False,
            "WebUrl": None,
        }
        self.orders.insert(order)
        order["WebUrl"] = f"https://app.billbee.io/app_v2/order/{order['BillBeeOrderId']}"
        if paid:
            order["Payments"].append(
                {
                    "BillbeeId": self.serial(),
                    "TransactionId": order["PaymentTransactionId"],
                    "PayDate": ts(paid),
                    "PaymentType": order["PaymentMethod"],
                    "SourceTechnology": platform,
                    "SourceText": PAYMENT_TYPES.get(order["PaymentMethod"], "Andere"),
                    "PayValue": total_cost,
                    "Purpose": order["OrderNumber"],
                    "Name": customer["Name"],
                }
            )
        if history:
            order["History"].append(self._history(created, "Auftrag importiert", "Der Auftrag wurde eingelesen", 0))
            if paid:
                order["History"].append(self._history(paid, "Zahlung erhalten", "Zahlung verbucht", 13))
        return order

    def order_address(self, given: Any) -> Record | None:
        """An address from a request, with the model's keys only (unknown keys are dropped)."""
        if not isinstance(given, dict):
            return None
        address = {k: given.get(k) for k in ORDER_ADDRESS_KEYS}
        address["BillbeeId"] = address["BillbeeId"] or self.serial()
        return address

    def order_item(self, given: Record) -> Record:
        """An order item from a request, filled like Billbee does (ids, defaults, known product)."""
        item = {k: given.get(k) for k in ORDER_ITEM_KEYS}
        product = {k: (given.get("Product") or {}).get(k) for k in SOLD_PRODUCT_KEYS}
        known = self.products.first(SKU=product["SKU"]) if product["SKU"] else None
        if known is not None:
            product.update({k: v for k, v in self._sold_product(known).items() if product.get(k) is None})
        product["Images"] = product["Images"] or []
        product["IsDigital"] = bool(product["IsDigital"])
        quantity = float(item["Quantity"] if item["Quantity"] is not None else 1)
        total = float(item["TotalPrice"] or 0)
        item.update(
            {
                "BillbeeId": self.serial(),
                "Product": product,
                "Quantity": quantity,
                "TotalPrice": total,
                "TaxAmount": float(item["TaxAmount"] or 0),
                "TaxIndex": item["TaxIndex"] or 1,
                "Discount": float(item["Discount"] or 0),
                "Attributes": item["Attributes"] or [],
                "GetPriceFromArticleIfAny": bool(item["GetPriceFromArticleIfAny"]),
                "IsCoupon": bool(item["IsCoupon"]),
                "DontAdjustStock": bool(item["DontAdjustStock"]),
                "UnrebatedTotalPrice": float(item["UnrebatedTotalPrice"] or total),
                "InvoiceSKU": item["InvoiceSKU"] or product["SKU"],
            }
        )
        return item

    def next_invoice_number(self) -> int:
        self.invoice_counter += 1
        return self.invoice_counter

    @staticmethod
    def _history(when: datetime, name: str, text: str, type_id: int) -> Record:
        return {
            "Created": ts(when),
            "EventTypeName": name,
            "Text": text,
            "EmployeeName": None,
            "TypeId": type_id,
        }

    def history(self, order: Record, name: str, text: str, type_id: int) -> None:
        order["History"].append(self._history(self.now(), name, text, type_id))

    # ------------------------------------------------------------------ shipments and events

    def make_shipment(
        self,
        order: Record,
        when: datetime,
        *,
        shipping_id: str | None = None,
        provider_id: int | None = None,
        product_id: int | None = None,
        carrier: int | None = None,
        shipment_type: int = 0,
    ) -> Record:
        provider = self.providers.get(provider_id) if provider_id else self.providers.first()
        if provider is None:
            provider = self.providers.list()[0]
        product = next((p for p in provider["products"] if p["id"] == product_id), provider["products"][0])
        tracking = shipping_id or f"00340434{self.rng.randint(10**11, 10**12 - 1)}"
        shipment = self.shipments.insert(
            {
                "BillbeeId": None,
                "ShippingId": tracking,
                "Shipper": provider["name"],
                "Created": ts(when),
                "TrackingUrl": f"https://tracking.example.com/{provider['name'].lower()}/{tracking}",
                "ShippingProviderId": provider["id"],
                "ShippingProviderProductId": product["id"],
                "ShippingCarrier": carrier if carrier is not None else (2 if provider["name"] == "DHL" else 4),
                "ShipmentType": shipment_type,
            }
        )
        self.shipment_order[shipment["BillbeeId"]] = order["BillBeeOrderId"]
        order["ShippingIds"].append(shipment)
        order["ShippingProviderId"] = provider["id"]
        order["ShippingProviderName"] = provider["name"]
        order["ShippingProviderProductId"] = product["id"]
        order["ShippingProviderProductName"] = product["displayName"]
        return shipment

    def make_event(self, when: datetime, type_id: int, order_id: int | None = None) -> Record:
        return self.events.insert(
            {
                "Id": None,
                "Created": ts_local(when),
                "TypeId": type_id,
                "TypeText": EVENT_TYPES.get(type_id, str(type_id)),
                "EmployeeId": None,
                "EmployeeName": None,
                "OrderId": order_id,
            }
        )

    # ------------------------------------------------------------------ the whole account

    def populate(self, *, orders: int, products: int, customers: int) -> None:
        rng = self.rng
        self.populate_static()
        start = BASE - timedelta(days=365)
        for i in range(products):
            self.make_product(start + timedelta(hours=i * 3), index=i)
        for i in range(customers):
            self.make_customer(start + timedelta(hours=i * 5))
        # Orders end 8 days before BASE so payments and shipments (up to 5 days later) stay before it.
        span = (BASE - start).total_seconds() - 8 * 86400
        created_times = sorted(
            start + timedelta(seconds=rng.uniform(0, span), milliseconds=rng.randint(0, 999)) for _ in range(orders)
        )
        pending: list[tuple[datetime, int, int | None]] = []  # events, inserted in time order below
        shipments: list[tuple[datetime, Record]] = []
        for created in created_times:
            order = self.make_order(created)
            pending.append((created, 0, order["BillBeeOrderId"]))
            if order["PayedAt"]:
                pending.append((created + timedelta(hours=1), 13, order["BillBeeOrderId"]))
            if order["ShippedAt"]:
                shipped = datetime.fromisoformat(order["ShippedAt"])
                shipments.append((shipped, order))
                pending.append((shipped, 12, order["BillBeeOrderId"]))
        # Ids ascend with creation time, as in the real API.
        for when, order in sorted(shipments, key=lambda pair: pair[0]):
            self.make_shipment(order, when)
        for when, type_id, order_id in sorted(pending, key=lambda e: e[0]):
            self.make_event(when, type_id, order_id)
        self.webhooks.insert(
            {
                "Secret": "sandbox-webhook-secret-0123456789abcdef",
                "Filters": ["order.created"],
                "Headers": {},
                "Properties": {},
                "Id": "7f3c2a1b9d8e4f60a1b2c3d4e5f60718",
                "WebHookUri": "https://hooks.example.com/billbee",
                "Description": "Seeded example webhook",
                "IsPaused": True,
            }
        )
