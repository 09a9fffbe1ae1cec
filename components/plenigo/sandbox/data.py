"""The sandbox's merchant: a regional publisher selling digital and print subscriptions.

Everything is derived from ``app.rng`` (seeded) and a fixed anchor date, so one seed always gives
the same customers, orders, invoices and subscriptions with the same ids and timestamps. Ids
grow with creation time, as in plenigo, where lists are sorted by id. Records created later
(API calls, ``POST /_sandbox/seed``) take their dates from the sandbox clock.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .core import Record, ts

if TYPE_CHECKING:
    from random import Random

    from skiff.sandbox import SandboxApp, Table

__all__ = [
    "ANCHOR",
    "CATALOGUE",
    "COMPANY_ID",
    "PARTNER_COMPANY_ID",
    "PARTNER_COMPANY_NAME",
    "PARTNER_PRODUCT",
    "Product",
    "SubPlan",
    "World",
    "add_span",
    "parse_anchor",
    "pid",
]

ANCHOR = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
COMPANY_ID = "NLV4X7Q2PA9TK3B8M1CZ"  # the sandbox merchant (20 characters, like plenigo company ids)
PARTNER_COMPANY_ID = "ALPB7M2Q9XK4D1R8T6WN"
PARTNER_COMPANY_NAME = "Alpenblick Medien GmbH"
MERCHANT_USER = "m.jansen@nordlicht-verlag.example"
API_USER = "sandbox-api"  # what plenigo shows as changedBy for API calls: the token's name, never its value
DELIVERY_LIST_ID = 41
TERMS_ID = 103300


@lru_cache(maxsize=4096)
def pid(prefix: str, key: str) -> str:
    """A plenigo-style 20-character id (``O_`` + 18 characters), stable for ``key``."""
    digest = int(hashlib.sha1(f"{prefix}:{key}".encode()).hexdigest(), 16)
    alphabet = string.digits + string.ascii_uppercase
    chars = []
    for _ in range(18):
        digest, rest = divmod(digest, 36)
        chars.append(alphabet[rest])
    return f"{prefix}_{''.join(chars)}"


def add_months(day: datetime, months: int) -> datetime:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    days_in = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][month - 1]
    return day.replace(year=year, month=month, day=min(day.day, days_in))


def add_span(day: datetime, amount: int, span: str) -> datetime:
    if span == "DAY":
        return day + timedelta(days=amount)
    if span == "WEEK":
        return day + timedelta(weeks=amount)
    if span == "MONTH":
        return add_months(day, amount)
    if span == "YEAR":
        return add_months(day, 12 * amount)
    return day


@dataclass(frozen=True)
class Product:
    """One offer of the catalogue with its single product (and step, for subscriptions)."""

    key: str
    offer_id: int
    title: str  # what the customer sees
    internal_title: str
    price: float  # gross, EUR
    tax_type: str
    access_right: str  # accessRightUniqueId granted by a purchase
    subscription: bool = True
    term: tuple[int, str] = (1, "MONTH")
    accounting: tuple[int, str] = (1, "MONTH")
    cancellation: tuple[int, str] = (14, "DAY")
    duration: tuple[int, str] = (0, "NONE")  # a trial runs out after this and gets a successor
    successor: str | None = None
    printed: bool = False
    archived: bool = False
    weight: int = 1  # how often customers buy it
    tax: float = 7.0  # reduced German VAT for press products
    description: str = ""
    english_title: str = ""
    bonus: str | None = None  # a premium shipped with the order (purchased addon)

    @property
    def plenigo_offer_id(self) -> str:
        return pid("O", self.key)

    @property
    def plenigo_product_id(self) -> str:
        return pid("P", self.key)

    @property
    def plenigo_step_id(self) -> str:
        return pid("S", self.key)

    @property
    def product_type(self) -> str:
        return "SUBSCRIPTION_TIME_BASED" if self.subscription else "SINGLE_PRODUCT"


# fmt: off
CATALOGUE: tuple[Product, ...] = (
    Product("digital-monthly", 50001, "Nordlicht Digital", "Digital Monatsabo", 9.99, "DIGITALNEWSPAPER",
            "nordlicht-plus", weight=30, english_title="Nordlicht Digital monthly",
            description="Alle Artikel auf nordlicht-zeitung.example, in der App und im Newsletter."),
    Product("digital-yearly", 50002, "Nordlicht Digital Jahresabo", "Digital Jahresabo", 99.0, "DIGITALNEWSPAPER",
            "nordlicht-plus", term=(12, "MONTH"), accounting=(12, "MONTH"), cancellation=(1, "MONTH"), weight=10,
            english_title="Nordlicht Digital yearly", description="Ein Jahr Nordlicht Digital, zwei Monate gratis."),
    Product("epaper-monthly", 50003, "E-Paper Nordlicht Zeitung", "E-Paper Monatsabo", 19.99, "DIGITALNEWSPAPER",
            "epaper", weight=12, english_title="Nordlicht e-paper",
            description="Die Zeitung als E-Paper, ab 4 Uhr morgens."),
    Product("print-digital", 50004, "Nordlicht Zeitung Print + Digital", "Kombi Print Digital", 46.9, "NEWSPAPER",
            "print-digital", term=(12, "MONTH"), cancellation=(6, "WEEK"), printed=True, weight=8,
            english_title="Print and digital bundle", bonus="Thermobecher Nordlicht",
            description="Täglich die gedruckte Zeitung und alle digitalen Inhalte."),
    Product("weekend-print", 50005, "Wochenendausgabe", "Wochenende Print", 21.9, "NEWSPAPER", "weekend-print",
            printed=True, weight=6, english_title="Weekend edition",
            description="Freitag und Samstag die gedruckte Zeitung."),
    Product("digital-trial", 50006, "Nordlicht Digital 4 Wochen testen", "Digital Probeabo", 0.99,
            "DIGITALNEWSPAPER", "nordlicht-plus", duration=(1, "MONTH"), successor="digital-monthly", weight=10,
            english_title="Nordlicht Digital trial", description="Vier Wochen alle Artikel für 0,99 €."),
    Product("epaper-issue", 50007, "E-Paper Einzelausgabe", "E-Paper Einzelausgabe", 2.49, "DIGITALNEWSPAPER",
            "epaper-issue", subscription=False, weight=10, english_title="Single e-paper issue",
            description="Eine Ausgabe als E-Paper."),
    Product("dossier-energy", 50008, "Dossier Energiewende (PDF)", "Dossier Energiewende", 4.99, "EBOOK",
            "dossier-energiewende", subscription=False, weight=5, english_title="Energy transition dossier",
            description="48 Seiten Analysen und Reportagen zur Energiewende im Norden."),
    Product("digital-monthly-2023", 50009, "Nordlicht Digital (2023)", "Digital Monatsabo 2023", 7.99,
            "DIGITALNEWSPAPER", "nordlicht-plus", archived=True, weight=3, english_title="Nordlicht Digital 2023",
            description="Altes Digitalabo, ersetzt durch Nordlicht Digital."),
    Product("summer-2024", 50010, "Sommer-Special 2024", "Sommeraktion 2024", 1.0, "DIGITALNEWSPAPER",
            "nordlicht-plus", subscription=False, archived=True, weight=0, english_title="Summer special 2024",
            description="Drei Monate Nordlicht Digital für 1 €."),
)

# fmt: on
PARTNER_PRODUCT = Product(
    "alpenblick-digital",
    60001,
    "Alpenblick Digital (Kooperation)",
    "Alpenblick Digital Kooperation",
    6.99,
    "DIGITALNEWSPAPER",
    "alpenblick-digital",
    english_title="Alpenblick digital cooperation",
    description="Das Digitalabo unserer Partnerzeitung, für Abonnenten vergünstigt.",
)

# fmt: off
FEMALE = ("Anna", "Lena", "Mia", "Hannah", "Sophie", "Laura", "Julia", "Katharina", "Sabine", "Petra", "Ingrid",
          "Marie", "Emilia", "Johanna", "Greta", "Frieda", "Claudia", "Birgit", "Anke", "Silke", "Maren", "Wiebke")
MALE = ("Jonas", "Lukas", "Felix", "Paul", "Leon", "Finn", "Thomas", "Michael", "Stefan", "Andreas", "Klaus",
        "Jürgen", "Hauke", "Jannik", "Ole", "Mats", "Björn", "Sönke", "Henrik", "Tobias", "Florian", "Matthias")
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
        "Braun", "Krüger", "Hartmann", "Lange", "Petersen", "Jensen", "Hansen", "Carstensen", "Thomsen", "Paulsen",
        "Nielsen", "Lorenzen", "Brandt", "Voß", "Jacobsen", "Huber", "Gruber", "Brunner", "Keller", "Frank")
STREETS = ("Hauptstraße", "Bahnhofstraße", "Lindenallee", "Schillerstraße", "Goethestraße", "Gartenweg",
           "Am Hafen", "Mühlenweg", "Rosenstraße", "Birkenweg", "Hafenstraße", "Schulstraße", "Dorfstraße",
           "Ringstraße", "Parkstraße", "Friedrichstraße", "Marktplatz", "Uferweg", "Deichstraße", "Holstenstraße")
CITIES = (  # city, postcodes, country, weight
    ("Kiel", ("24103", "24105", "24114", "24143"), "DE", 10),
    ("Hamburg", ("20095", "20354", "22767", "22085"), "DE", 12),
    ("Lübeck", ("23552", "23560", "23566"), "DE", 6),
    ("Flensburg", ("24937", "24939"), "DE", 4),
    ("Rostock", ("18055", "18057"), "DE", 4),
    ("Bremen", ("28195", "28203"), "DE", 4),
    ("Berlin", ("10115", "10405", "10551", "12043"), "DE", 8),
    ("Hannover", ("30159", "30161"), "DE", 3),
    ("Köln", ("50667", "50823"), "DE", 3),
    ("München", ("80331", "80469", "81667"), "DE", 3),
    ("Frankfurt am Main", ("60311", "60594"), "DE", 2),
    ("Leipzig", ("04109", "04275"), "DE", 2),
    ("Wien", ("1010", "1070"), "AT", 2),
    ("Graz", ("8010",), "AT", 1),
    ("Zürich", ("8001", "8004"), "CH", 1),
)
COMPANIES = ("Hansen Logistik GmbH", "Brauhaus am Deich KG", "Kanzlei Petersen & Partner", "Nordwind Apotheke",
             "Jensen Bootsbau GmbH", "Möwe Reisen GmbH", "Stadtwerke Kiel AG", "Café Seeblick")
BROWSERS = (("Firefox 126", "Windows 11"), ("Chrome 125", "macOS 14"), ("Safari 17", "iOS 17"),
            ("Chrome 125", "Android 14"), ("Edge 125", "Windows 10"))
# fmt: on
PHONE_PREFIX = {"DE": "+49", "AT": "+43", "CH": "+41"}
MOBILE_PREFIX = {"DE": ("151", "160", "170", "176"), "AT": ("664", "676"), "CH": ("79", "76")}


def parse_anchor(value: str | datetime | None) -> datetime | str | None:
    """The seeded "today": a date-time, ``"now"`` (the clock at populate time) or None (``ANCHOR``)."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if isinstance(value, datetime) else None
    if value == "now":
        return value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def ascii_name(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
    return text.translate(table).lower().replace(" ", "").replace("&", "")


def iban(rng: Random, country: str = "DE") -> str:
    """A syntactically valid IBAN (correct check digits) for a made-up account."""
    lengths = {"DE": 18, "AT": 16, "CH": 17}
    bban = "".join(rng.choice(string.digits) for _ in range(lengths.get(country, 18)))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def day_only(stamp: datetime) -> str:
    return stamp.date().isoformat()


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class Purchase:
    customer: Record
    when: datetime
    product: Product
    payment: tuple[str, int | None]
    gift_for: Record | None = None
    quantity: int = 1
    order: Record | None = None


@dataclass
class SubPlan:
    customer: Record
    product: Product
    start: datetime
    payment: tuple[str, int | None]
    order: Record | None = None
    delivery_customer: Record | None = None
    end: datetime | None = None
    cancelled_at: datetime | None = None
    precursor: SubPlan | None = None
    successor: SubPlan | None = None
    record: Record = field(default_factory=dict)


class World:
    """The sandbox's tables plus the rules that keep them consistent (one instance per app)."""

    def __init__(self, app: SandboxApp, *, customers: int = 100, anchor: datetime | str | None = None) -> None:
        self.app = app
        self.customer_count = customers
        self.anchor_option = anchor
        self.anchor = self._anchor()
        store = app.store

        def table(name: str, id_field: str, start: int = 1, dated: bool = True) -> Table:
            return store.table(
                name,
                id_field=id_field,
                start_id=start,
                created_field="createdDate" if dated else None,
                modified_field="changedDate" if dated else None,
                timestamp=ts,
            )

        self.customers = table("customers", "customerId", 100001)
        self.addresses = table("addresses", "addressId", 200001)
        self.future_addresses = table("futureAddresses", "_id", dated=False)
        self.orders = table("orders", "orderId", 300001)
        self.order_data = table("orderAdditionalData", "orderId")
        self.invoices = table("invoices", "invoiceId", 500001)
        self.transactions = table("transactions", "plenigoTransactionId")
        self.subscriptions = table("subscriptions", "subscriptionId", 700001)
        self.chain_data = table("chainAdditionalData", "chainId", dated=False)
        self.chain_status = table("chainStatusHistory", "statusChangeId", 960001)
        self.payment_periods = table("paymentPeriods", "subscriptionPaymentPeriodId", 740001)
        self.delivery_dates = table("deliveryDates", "subscriptionDeliveryDateId", 780001)
        self.access_rights = table("accessRights", "customerId")
        self.offers = table("offers", "offerId", 50001)
        self.shared_offers = table("sharedOffers", "offerId", 60001)
        self.customer_data = table("customerAdditionalData", "customerId")
        self.opt_ins = table("optIns", "customerId")
        self.credit_cards = table("creditCards", "creditCardId", 600001)
        self.paypal_accounts = table("payPalAccounts", "payPalAccountId", 610001)
        self.bank_accounts = table("bankAccounts", "bankAccountId", 620001)
        self.customer_status = table("customerStatusHistory", "statusChangeId", 950001)
        self.wallets = table("creditWallets", "customerCreditWalletId", 5800001)
        self.logins = table("logins", "customerLogInId", 870001)
        self.failed_logins = table("failedLogins", "failedCustomerLogInId", 880001)
        self.stripe_customers = table("stripeCustomers", "customerId", dated=False)
        self.marks = table("customerMarks", "customerId")
        self.app_store_orders = table("appStoreOrders", "appStoreOrderId", 890001)
        self.app_store_subscriptions = table("appStoreSubscriptions", "appStoreSubscriptionId", 895001)
        self.addons = table("purchasedAddons", "purchasedAddonId", 330001)
        self.cross_transactions = table("crossClientTransactions", "crossClientTransactionId", 340001)
        self.vouchers = table("crossClientVouchers", "voucherCode", dated=False)
        self.item_ids = 800001
        self.opt_in_ids = 910001
        self.emails: set[str] = set()  # lower-cased, for the uniqueness checks of create and change

    # ------------------------------------------------------------------ basics

    @property
    def rng(self) -> Random:
        return self.app.rng

    def now(self) -> datetime:
        return self.app.clock.now()

    def stamp(self, when: datetime) -> str:
        return ts(when)

    def _anchor(self) -> datetime:
        if self.anchor_option == "now":
            return self.now().replace(second=0, microsecond=0)
        if isinstance(self.anchor_option, datetime):
            return self.anchor_option
        return ANCHOR

    def next_booking(self, subscription: Record) -> datetime:
        start = datetime.fromisoformat(subscription["startDate"])
        return add_span(start, subscription["accountingPeriod"], subscription["accountingPeriodTimeSpan"])

    def next_item_id(self) -> int:
        self.item_ids += 1
        return self.item_ids - 1

    def audit(
        self, created: datetime, changed: datetime | None = None, *, by: str = "CUSTOMER", who: str = ""
    ) -> Record:
        """createdDate/changedDate with who did it (ApiBase)."""
        if by == "API":
            who = API_USER
        elif by == "SYSTEM":
            who = "PLENIGO"
        elif by == "MERCHANT":
            who = MERCHANT_USER
        return {
            "createdDate": ts(created),
            "createdBy": who,
            "createdByType": by,
            "changedDate": ts(changed or created),
            "changedBy": who,
            "changedByType": by,
        }

    def touch(self, table: Table, record: Record, *, by: str = "API") -> Record:
        """Bump changedDate (what polling triggers look at) and record who changed it."""
        record["changedBy"] = API_USER if by == "API" else "PLENIGO" if by == "SYSTEM" else MERCHANT_USER
        record["changedByType"] = by
        return table.touch(record)

    def between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return start
        span = (end - start).total_seconds()
        return start + timedelta(seconds=self.rng.random() * span)

    def weighted(self, items: tuple[Any, ...], weights: list[int]) -> Any:
        return self.rng.choices(items, weights=weights, k=1)[0]

    def product(self, key: str) -> Product:
        for product in (*CATALOGUE, PARTNER_PRODUCT):
            if product.key == key:
                return product
        raise KeyError(key)

    def product_by_offer(self, plenigo_offer_id: str) -> Product | None:
        for product in (*CATALOGUE, PARTNER_PRODUCT):
            if product.plenigo_offer_id == plenigo_offer_id:
                return product
        return None

    # ------------------------------------------------------------------ populate

    def populate(self) -> None:
        """The deterministic starting data (runs at start and on every reset)."""
        self.anchor = self._anchor()
        self.item_ids = 800001
        self.opt_in_ids = 910001
        self.emails = set()
        self._offers()
        customers = [self._customer(i) for i in range(self.customer_count)]
        purchases = self._purchases(customers)
        plans = self._subscriptions(purchases)
        self._invoices(purchases, plans)
        self._extras(customers, purchases, plans)

    def _offers(self) -> None:
        created = self.anchor - timedelta(days=720)
        for product in CATALOGUE:
            changed = created + timedelta(days=30 + product.offer_id % 97)
            if product.archived:
                changed = self.anchor - timedelta(days=200 + product.offer_id % 31)
            self.offers.insert(self.offer_record(product, created, changed))
        partner = self.offer_record(PARTNER_PRODUCT, created + timedelta(days=90), created + timedelta(days=120))
        partner["_companyId"] = PARTNER_COMPANY_ID
        partner["connectedCompanySettings"] = {"connectionInfo": [{"companyId": COMPANY_ID}]}
        self.shared_offers.insert(partner)

    def offer_record(self, product: Product, created: datetime, changed: datetime) -> Record:
        stamps = {"createdDate": ts(created), "changedDate": ts(changed)}
        translations = [
            {
                "language": "de",
                "title": product.title,
                "description": product.description,
                "summaryText": f"{product.title}: {product.price:.2f} €".replace(".", ","),
                "preferred": True,
                **stamps,
            },
            {"language": "en", "title": product.english_title or product.title, "preferred": False, **stamps},
        ]
        offer_product: Record = {
            "internalTitle": product.internal_title,
            "position": 1,
            "taxType": product.tax_type,
            "productType": product.product_type,
            "subscription": product.subscription,
            "amount": 1,
            "accessRightId": 9000 + product.offer_id % 1000,
            "costCenterId": 43400 if product.printed else 43100,
            "priceIssueId": 12000 + product.offer_id % 1000,
            "option": False,
            "translations": translations,
            "plenigoProductId": product.plenigo_product_id,
            "productTags": [],
            **stamps,
        }
        if product.subscription:
            step: Record = {
                "position": 1,
                "plenigoStepId": product.plenigo_step_id,
                "termPeriod": product.term[0],
                "termTimespan": product.term[1],
                "accountingPeriod": product.accounting[0],
                "accountingTimespan": product.accounting[1],
                "cancellationPeriod": product.cancellation[0],
                "cancellationTimespan": product.cancellation[1],
                "durationPeriod": product.duration[0],
                "durationTimespan": product.duration[1],
                "priceIssueId": offer_product["priceIssueId"],
                "productContractId": 15000 + product.offer_id % 1000,
                "productTags": [],
                **stamps,
            }
            offer_product["steps"] = [step]
        methods = ["CREDIT_CARD", "PAYPAL", "BANK_ACCOUNT"] + (["BILLING"] if product.printed else [])
        record: Record = {
            "offerId": product.offer_id,
            "plenigoOfferId": product.plenigo_offer_id,
            "internalTitle": product.internal_title,
            "pauseAble": product.printed,
            "invoiceAddressMandatory": product.printed,
            "deliveryAddressMandatory": product.printed,
            "multiplePurchases": not product.subscription,
            "issuesInPast": 0,
            "issuesInFuture": 0,
            "archived": product.archived,
            "allowedPaymentMethods": methods,
            "leafId": 3,
            "externalBilling": False,
            "customerCancellationBlocked": False,
            "managedBy": "PLENIGO",
            "managedExternal": False,
            "pdfTemplateUsage": "B2C",
            "translations": translations,
            "products": [offer_product],
            "productGroups": [],
            "productTags": [],
            **self.audit(created, changed, by="MERCHANT"),
        }
        if product.archived:
            record["archiveSettings"] = {
                "archiveType": "SUCCESSOR",
                "successorPlenigoOfferId": self.product("digital-monthly").plenigo_offer_id,
            }
        return record

    # customers ------------------------------------------------------------

    def person(self) -> Record:
        rng = self.rng
        female = rng.random() < 0.52
        first = rng.choice(FEMALE if female else MALE)
        last = rng.choice(LAST)
        city, postcodes, country, _ = self.weighted(CITIES, [c[3] for c in CITIES])
        salutation = "MRS" if female else "MR"
        if rng.random() < 0.03:
            salutation = "DIVERSE"
        return {
            "salutation": salutation,
            "firstName": first,
            "lastName": last,
            "street": rng.choice(STREETS),
            "streetNumber": str(rng.randint(1, 140)) + ("" if rng.random() < 0.85 else rng.choice("abc")),
            "postcode": rng.choice(postcodes),
            "city": city,
            "country": country,
        }

    def mobile(self, country: str) -> str:
        digits = "".join(self.rng.choice(string.digits) for _ in range(7 if country == "CH" else 8))
        return PHONE_PREFIX[country] + self.rng.choice(MOBILE_PREFIX[country]) + digits

    def unique_email(self, first: str, last: str) -> str:
        base = f"{ascii_name(first)}.{ascii_name(last)}"
        domain = self.rng.choice(("example.com", "example.org", "example.net"))
        email, n = f"{base}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{domain}"
        return email

    def _customer(self, index: int) -> Record:
        rng = self.rng
        span = timedelta(days=540) / max(self.customer_count, 1)
        created = self.anchor - timedelta(days=545) + span * index + span * 0.8 * rng.random()
        changed = created if rng.random() < 0.3 else self.between(created, self.anchor - timedelta(hours=2))
        status = self.weighted(("ACTIVATED", "BLOCKED", "DEACTIVATED"), [92, 4, 4])
        business = rng.random() < 0.08
        return self.new_customer(created=created, changed=changed, status=status, business=business)

    def new_customer(
        self,
        *,
        created: datetime,
        changed: datetime | None = None,
        status: str = "ACTIVATED",
        business: bool = False,
        by: str = "CUSTOMER",
    ) -> Record:
        """A customer with an invoice address (and sometimes a delivery address) and opt-ins."""
        rng = self.rng
        who = self.person()
        customer_id = str(self.customers.next_id())
        email = self.unique_email(who["firstName"], who["lastName"])
        customer: Record = {
            "customerId": customer_id,
            "email": email,
            "salutation": who["salutation"],
            "firstName": who["firstName"],
            "lastName": who["lastName"],
            "language": "de" if who["country"] != "CH" or rng.random() < 0.7 else "en",
            "registrationSource": self.weighted(("checkout", "registration", "sso", "import"), [60, 25, 10, 5]),
            "registrationDate": ts(created),
            "ageVerificationPinEnabled": False,
            "status": status,
            "acceptedTerms": {
                COMPANY_ID: {"termId": TERMS_ID, "uniqueId": "AGB-2023-10", "acceptanceDate": ts(created)}
            },
            "ssoLoginProviders": ["GOOGLE"] if rng.random() < 0.12 else [],
            "customerMarks": [],
            "processingBlocked": False,
            "miscellaneousData": {},
            **self.audit(created, changed, by=by, who=customer_id),
        }
        if rng.random() < 0.4:
            customer["username"] = (
                f"{ascii_name(who['firstName'])}_{ascii_name(who['lastName'])[:6]}{rng.randint(1, 99)}"
            )
        if rng.random() < 0.3:
            customer["mobileNumber"] = self.mobile(who["country"])
        if rng.random() < 0.45:
            customer["birthday"] = date(rng.randint(1945, 2004), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        if rng.random() < 0.15:
            customer["externalSystemId"] = f"CRM-{rng.randint(10000, 99999)}"
        if business:
            customer["invoiceEmail"] = f"rechnung@{ascii_name(who['lastName'])}-{customer_id[-3:]}.example.com"
            customer["miscellaneousData"] = {"leitwegId": f"04011000-{rng.randint(10000, 99999)}-{rng.randint(10, 99)}"}
        if customer["registrationSource"] == "sso":
            customer["ssoLoginProviders"] = ["GOOGLE"]
        self.customers.insert(customer)
        self.emails.add(email.lower())
        company = rng.choice(COMPANIES) if business else None
        self.new_address(customer, who, kind="INVOICE", created=created, company=company)
        if rng.random() < 0.25:
            other = self.person() | {"lastName": who["lastName"]}
            self.new_address(customer, other, kind="DELIVERY", created=self.between(created, changed or created))
        if rng.random() < 0.7:
            self.new_opt_ins(customer, created)
        if rng.random() < 0.3:
            self.customer_data.insert(
                {
                    "customerId": customer_id,
                    "data": {
                        "segment": rng.choice(["leser", "premium", "student", "senior"]),
                        "newsletter": rng.choice(["daily", "weekly", "none"]),
                    },
                    **self.audit(created, by=by, who=customer_id),
                }
            )
        if status != "ACTIVATED":
            at = self.between(created, changed or created)
            self.customer_status.insert(
                {
                    "customerId": customer_id,
                    "startTime": ts(at),
                    "oldStatus": "ACTIVATED",
                    "newStatus": status,
                    "createdDate": ts(at),
                    "changedDate": ts(at),
                }
            )
        for _ in range(rng.randint(0, 3)):
            self.new_login(customer, self.between(created, changed or created), failed=rng.random() < 0.2)
        return customer

    def new_address(
        self,
        customer: Record,
        who: Record,
        *,
        kind: str,
        created: datetime,
        company: str | None = None,
        preferred: bool = True,
        by: str = "CUSTOMER",
    ) -> Record:
        address: Record = {
            "type": kind,
            "preferred": preferred,
            "customerId": customer["customerId"],
            "businessAddress": company is not None,
            "salutation": who["salutation"],
            "firstName": who["firstName"],
            "lastName": who["lastName"],
            "street": who["street"],
            "streetNumber": who["streetNumber"],
            "postcode": who["postcode"],
            "city": who["city"],
            "country": who["country"],
            "validationStatus": "VALID" if self.rng.random() < 0.6 else "NONE",
            **self.audit(created, by=by, who=str(customer["customerId"])),
        }
        if company:
            address["companyName"] = company
            address["vatNumber"] = f"DE{self.rng.randint(100000000, 999999999)}"
            address["phoneNumber"] = PHONE_PREFIX[who["country"]] + str(self.rng.randint(4310000000, 4319999999))
        return self.add_address(address)

    def new_opt_ins(self, customer: Record, created: datetime) -> Record:
        opt_ins: Record = {}
        for kind, unique in (("EMAIL", "newsletter-2023"), ("POST", "werbung-post"), ("PHONE", "telefon-umfrage")):
            if kind != "EMAIL" and self.rng.random() < 0.5:
                continue
            status = self.weighted(("DOUBLE_OPT_IN", "SINGLE_OPT_IN", "NONE", "REVOKED_OPT_IN"), [50, 15, 25, 10])
            opt_ins[kind] = {
                "optInId": self.opt_in_ids,
                "uniqueId": unique,
                "changedDate": ts(created),
                "status": status,
            }
            self.opt_in_ids += 1
        return self.opt_ins.insert(
            {
                "customerId": customer["customerId"],
                "optIns": opt_ins,
                **self.audit(created, by="CUSTOMER", who=customer["customerId"]),
            }
        )

    def new_login(self, customer: Record, when: datetime, *, failed: bool) -> Record:
        browser, os_name = self.rng.choice(BROWSERS)
        entry: Record = {
            "customerId": customer["customerId"],
            "loginDate": ts(when),
            "browser": browser,
            "os": os_name,
            "source": self.rng.choice(["WEB", "APP"]),
            "sourceUrl": "https://www.nordlicht-zeitung.example/login",
            "country": "Germany",
            **self.audit(when, by="CUSTOMER", who=customer["customerId"]),
        }
        return (self.failed_logins if failed else self.logins).insert(entry)

    def preferred_address(self, customer_id: str, kind: str = "INVOICE") -> Record | None:
        customer = self.customers.get(customer_id)
        found = None
        for address_id in customer.get("_addressIds", ()) if customer else ():
            address = self.addresses.get(address_id)  # None once deleted
            if address is not None and address["type"] == kind and (found is None or address.get("preferred")):
                found = address
        return found

    def add_address(self, address: Record) -> Record:
        """Insert an address and index it on its customer (orders and invoices copy the preferred one)."""
        self.addresses.insert(address)
        customer = self.customers.get(address["customerId"])
        if customer is not None:
            customer.setdefault("_addressIds", []).append(address["addressId"])
        return address

    def address_copy(self, address: Record | None) -> Record:
        """An address as embedded in orders and invoices (no ids, own dates)."""
        if address is None:
            return {}
        keep = (
            "businessAddress",
            "salutation",
            "title",
            "firstName",
            "lastName",
            "companyName",
            "additionalCompanyInfo",
            "street",
            "streetNumber",
            "additionalStreetInfo",
            "postbox",
            "postcode",
            "city",
            "state",
            "country",
            "vatNumber",
            "phoneNumber",
        )
        copy = {k: address[k] for k in keep if k in address}
        copy["createdDate"] = address["createdDate"]
        copy["changedDate"] = address["changedDate"]
        return copy

    # payment methods -------------------------------------------------------

    def payment_method(self, customer: Record, when: datetime, method: str | None = None) -> tuple[str, int | None]:
        """The customer's preferred payment method, created on first use."""
        if customer.get("_payment"):
            kind, method_id = customer["_payment"]
            return str(kind), method_id
        chosen = self._new_payment_method(customer, when, method)
        customer["_payment"] = chosen
        return chosen

    def _new_payment_method(self, customer: Record, when: datetime, method: str | None) -> tuple[str, int | None]:
        cid = customer["customerId"]
        rng = self.rng
        business = bool(customer.get("invoiceEmail"))
        method = method or self.weighted(
            ("CREDIT_CARD", "PAYPAL", "BANK_ACCOUNT", "BILLING"), [40, 30, 20, 30 if business else 5]
        )
        owner = f"{customer['firstName']} {customer['lastName']}"[:30]
        stamps = self.audit(when, by="CUSTOMER", who=cid)
        if method == "CREDIT_CARD":
            card_type = self.weighted(("VISA", "MASTERCARD", "AMERICAN_EXPRESS"), [55, 40, 5])
            valid_to = date(when.year + rng.randint(1, 4), rng.randint(1, 12), 1)
            record = self.credit_cards.insert(
                {
                    "customerId": cid,
                    "owner": owner,
                    "cardType": card_type,
                    "providerToken": "pm_"
                    + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24)),
                    "obfuscatedNumber": f"XXXXXXXXXXXX{rng.randint(1000, 9999)}",
                    "validTo": valid_to.isoformat(),
                    "preferred": True,
                    "invalid": False,
                    "paymentProvider": "STRIPE",
                    "issuer": rng.choice(["Sparkasse", "Commerzbank", "DKB", "ING"]),
                    "active": True,
                    **stamps,
                }
            )
            return method, int(record["creditCardId"])
        if method == "PAYPAL":
            record = self.paypal_accounts.insert(
                {
                    "customerId": cid,
                    "billingAgreementId": f"B-{rng.randint(10**16, 10**17 - 1)}",
                    "preferred": True,
                    "invalid": False,
                    "active": True,
                    **stamps,
                }
            )
            return method, int(record["payPalAccountId"])
        if method == "BANK_ACCOUNT":
            record = self.bank_accounts.insert(
                {
                    "customerId": cid,
                    "owner": owner,
                    "iban": iban(rng),
                    "bic": rng.choice(["NOLADE21KIE", "HASPDEHHXXX", "COBADEFFXXX", "DEUTDEDBHAM"]),
                    "preferred": True,
                    "invalid": False,
                    "mandateId": f"NLV-{cid}-{rng.randint(100, 999)}",
                    "mandateDate": when.date().isoformat(),
                    "active": True,
                    **stamps,
                }
            )
            return method, int(record["bankAccountId"])
        return "BILLING", None

    # orders -----------------------------------------------------------------

    def _purchases(self, customers: list[Record]) -> list[Purchase]:
        rng = self.rng
        buyable = tuple(p for p in CATALOGUE if p.weight)
        weights = [p.weight for p in buyable]
        # The first buyers get one of each current offer, so even a small sandbox has every kind of record.
        rotation = [p for p in buyable if not p.archived]
        purchases: list[Purchase] = []
        for customer in customers:
            if rng.random() > 0.78:
                continue
            created = datetime.fromisoformat(customer["createdDate"])
            when = created + timedelta(minutes=rng.randint(2, 40))
            for n in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
                if n:
                    when = self.between(when + timedelta(days=1), self.anchor - timedelta(hours=6))
                if when >= self.anchor:
                    break
                product = self.weighted(buyable, weights)
                if n == 0 and rotation:
                    product = rotation.pop(0)
                if product.archived and when > self.anchor - timedelta(days=400):
                    product = self.product("digital-monthly")
                gift = None
                if product.subscription and rng.random() < 0.06:
                    others = [c for c in customers if c is not customer and c["createdDate"] < ts(when)]
                    gift = rng.choice(others) if others else None
                purchases.append(Purchase(customer, when, product, ("", None), gift))
        purchases.sort(key=lambda p: p.when)
        for purchase in purchases:
            purchase.payment = self.payment_method(purchase.customer, purchase.when)
            quantity = rng.choice((1, 1, 1, 2)) if not purchase.product.subscription else 1
            purchase.quantity = quantity
            purchase.order = self.new_order(
                purchase.customer,
                [(purchase.product, quantity)],
                when=purchase.when,
                payment=purchase.payment,
                gift_for=purchase.gift_for,
            )
        return purchases

    def new_order(
        self,
        customer: Record,
        lines: list[tuple[Product, int]],
        *,
        when: datetime,
        payment: tuple[str, int | None],
        gift_for: Record | None = None,
        by: str = "CUSTOMER",
    ) -> Record:
        rng = self.rng
        cid = customer["customerId"]
        invoice_address = self.address_copy(self.preferred_address(cid))
        receiver = gift_for or customer
        delivery = self.preferred_address(receiver["customerId"], "DELIVERY") or self.preferred_address(
            receiver["customerId"]
        )
        items = []
        for position, (product, quantity) in enumerate(lines, start=1):
            item: Record = {
                "position": position,
                "productId": product.plenigo_product_id,
                "plenigoOfferId": product.plenigo_offer_id,
                "plenigoProductId": product.plenigo_product_id,
                "accessRightUniqueId": product.access_right,
                "title": product.title,
                "internalTitle": product.internal_title,
                "taxType": product.tax_type,
                "price": product.price,
                "tax": product.tax,
                "taxCountry": "DE",
                "quantity": quantity,
                "discountPercentage": 0,
                "costCenter": "43400" if product.printed else "43100",
                "deliveryCustomerId": receiver["customerId"],
                "externalBilling": False,
                "createdDate": ts(when),
                "changedDate": ts(when),
            }
            if product.subscription:
                item["plenigoStepId"] = product.plenigo_step_id
            if product.printed or gift_for is not None:
                item["deliveryAddress"] = self.address_copy(delivery)
            items.append(item)
        total = round(sum(i["price"] * i["quantity"] for i in items), 2)
        order: Record = {
            "status": "DONE",
            "type": "ORDER",
            "orderDate": ts(when),
            "accumulatedPrice": total,
            "currency": "EUR",
            "paymentMethod": payment[0],
            "invoiceCustomerId": cid,
            "analogInvoice": False,
            "suppressInvoiceSending": False,
            "invoiceAddress": invoice_address,
            "items": items,
            "_customerId": cid,
            "_deliveryCustomerIds": sorted({i["deliveryCustomerId"] for i in items}),
            **self.audit(when, by=by, who=cid),
        }
        if payment[1] is not None:
            order["paymentMethodId"] = payment[1]
        if payment[0] == "CREDIT_CARD" and payment[1] is not None:
            card = self.credit_cards.get(payment[1])
            if card:
                order["paymentMethodDetails"] = {"brand": card["cardType"], "issuer": card["issuer"]}
        if payment[0] == "BILLING" and rng.random() < 0.5:
            order["purchaseOrderIndicator"] = f"PO-{when.year}-{rng.randint(100, 999)}"
        if customer.get("externalSystemId") and rng.random() < 0.5:
            order["externalSystemId"] = f"SHOP-{rng.randint(100000, 999999)}"
        if gift_for is not None:
            order["giftInfo"] = {
                "notifyGiftee": True,
                "donorText": f"Viel Freude beim Lesen! {customer['firstName']}",
                "gifteeEmail": gift_for["email"],
            }
        self.orders.insert(order)
        if rng.random() < 0.45:
            data: Record = {
                "orderId": order["orderId"],
                "sourceId": rng.choice(["homepage-paywall", "newsletter", "app-paywall", "social"]),
                "utm": {
                    "source": rng.choice(["newsletter", "facebook", "google", "direct"]),
                    "medium": rng.choice(["email", "cpc", "social", "none"]),
                    "campaign": f"abo-{when:%Y-%m}",
                },
                "data": {"landingPage": "/abo", "abTestVariant": rng.choice(["A", "B"])},
                "createdDate": ts(when),
                "changedDate": ts(when),
            }
            if rng.random() < 0.2:
                data["affiliateId"] = f"aff-{rng.randint(100, 999)}"
            self.order_data.insert(data)
        return order

    # subscriptions ------------------------------------------------------------

    def _subscriptions(self, purchases: list[Purchase]) -> list[SubPlan]:
        rng = self.rng
        plans: list[SubPlan] = []
        for purchase in purchases:
            if not purchase.product.subscription:
                continue
            plan = SubPlan(
                purchase.customer, purchase.product, purchase.when, purchase.payment, purchase.order, purchase.gift_for
            )
            plans.append(plan)
            current: SubPlan | None = plan
            while current is not None:
                current = self._plan_end(current, plans)
        # Chains first, then ids in creation order (a successor is created when its precursor ends).
        for plan in sorted(plans, key=lambda p: p.start):
            plan.record = self.subscription_record(plan)
            self.subscriptions.insert(plan.record)
        for plan in plans:
            if plan.successor is not None:
                plan.record["successorId"] = plan.successor.record["subscriptionId"]
                plan.record["successorReason"] = "PRICE_PERIOD"
                plan.successor.record["precursorId"] = plan.record["subscriptionId"]
                plan.successor.record["precursorReason"] = "PRICE_PERIOD"
                plan.successor.record["chainId"] = plan.record["chainId"]
        del rng
        return plans

    def _plan_end(self, plan: SubPlan, plans: list[SubPlan]) -> SubPlan | None:
        """Decide how ``plan`` ends; returns its successor plan (trials), if any."""
        rng = self.rng
        product = plan.product
        if product.duration[0]:
            end = add_span(plan.start, *product.duration)
            if rng.random() < 0.3:
                plan.cancelled_at = self.between(plan.start, end - timedelta(days=1))
                plan.end = end
                return None
            plan.end = end
            if end >= self.anchor:
                return None
            successor = SubPlan(
                plan.customer,
                self.product(product.successor or "digital-monthly"),
                end,
                plan.payment,
                None,
                plan.delivery_customer,
                precursor=plan,
            )
            plan.successor = successor
            plans.append(successor)
            return successor
        if rng.random() < 0.22:
            cancelled = self.between(plan.start + timedelta(days=3), plan.start + timedelta(days=420))
            if cancelled < self.anchor:
                plan.cancelled_at = cancelled
                plan.end = self.regular_end(plan.start, product, cancelled)
        return None

    def regular_end(self, start: datetime, product: Product, cancelled: datetime) -> datetime:
        """The first term end reachable when cancelling at ``cancelled`` (respecting the notice period)."""
        earliest = add_span(cancelled, *product.cancellation)
        end = add_span(start, *product.term)
        while end < earliest:
            end = add_span(end, *product.term)
        return end

    def subscription_record(self, plan: SubPlan) -> Record:
        product, customer = plan.product, plan.customer
        cid = customer["customerId"]
        receiver = plan.delivery_customer or customer
        sub_id = self.subscriptions.next_id()
        chain_id = plan.precursor.record["chainId"] if plan.precursor and plan.precursor.record else sub_id
        invoice_address = self.preferred_address(cid)
        delivery_address = self.preferred_address(receiver["customerId"], "DELIVERY") or self.preferred_address(
            receiver["customerId"]
        )
        item: Record = {
            "subscriptionItemId": self.next_item_id(),
            "productId": product.plenigo_product_id,
            "plenigoProductId": product.plenigo_product_id,
            "plenigoStepId": product.plenigo_step_id,
            "accessRightUniqueId": product.access_right,
            "title": product.title,
            "internalTitle": product.internal_title,
            "taxType": product.tax_type,
            "price": product.price,
            "priceIssueId": 12000 + product.offer_id % 1000,
            "discountPercentage": 0,
            "quantity": 1,
            "status": "ACTIVE",
            "costCenter": "43400" if product.printed else "43100",
            **self.audit(plan.start, by="SYSTEM"),
        }
        record: Record = {
            "subscriptionId": sub_id,
            "chainId": chain_id,
            "analogInvoice": False,
            "plenigoOfferId": product.plenigo_offer_id,
            "invoiceCustomerId": cid,
            "deliveryCustomerId": receiver["customerId"],
            "term": product.term[0],
            "termTimeSpan": product.term[1],
            "accountingPeriod": product.accounting[0],
            "accountingPeriodTimeSpan": product.accounting[1],
            "cancellationPeriod": product.cancellation[0],
            "cancellationPeriodTimeSpan": product.cancellation[1],
            "cancellationType": "TIME_BASED",
            "durationPeriod": product.duration[0],
            "durationPeriodTimeSpan": product.duration[1],
            "startDate": ts(plan.start),
            "status": "ACTIVE",
            "currency": "EUR",
            "paymentMethod": plan.payment[0],
            "accessBlocked": False,
            "firstBookingDate": day_only(plan.start),
            "externalBilling": False,
            "customerCancellationBlocked": False,
            "managedBy": "PLENIGO",
            "managedExternal": False,
            "paymentTriesDone": 0,
            "subscriptionType": "TIME_BASED",
            "suppressInvoiceSending": False,
            "connectedOffer": False,
            "recurringDeliveries": product.printed,
            "activePartners": [],
            "items": [item],
            "_customerIds": sorted({cid, receiver["customerId"]}),
            **self.audit(plan.start, by="SYSTEM"),
        }
        if plan.payment[1] is not None:
            record["paymentMethodId"] = plan.payment[1]
        if invoice_address:
            record["invoiceAddressId"] = invoice_address["addressId"]
        if delivery_address and product.printed:
            record["deliveryAddressId"] = delivery_address["addressId"]
        if plan.end is not None:
            record["endDate"] = ts(plan.end)
        if plan.cancelled_at is not None:
            record["cancellationDate"] = ts(plan.cancelled_at)
            record["changedDate"] = ts(plan.cancelled_at)
        if plan.end is not None and plan.end <= self.anchor:
            record["status"] = "INACTIVE"
            item["status"] = "CANCELLED" if plan.cancelled_at else "INACTIVE"
        if record["status"] == "ACTIVE" and plan.order is not None and plan.order.get("externalSystemId"):
            record["externalSystemId"] = plan.order["externalSystemId"]
        if plan.order is not None:
            record["_orderId"] = plan.order["orderId"]
            plan.order["items"][0]["subscriptionItemId"] = item["subscriptionItemId"]
        return record

    # invoices, transactions, payment periods ------------------------------------

    def _invoices(self, purchases: list[Purchase], plans: list[SubPlan]) -> None:
        events: list[tuple[datetime, int, Any]] = []
        for n, purchase in enumerate(purchases):
            events.append((purchase.when, n, purchase))
        for n, plan in enumerate(plans):
            period_start = plan.start
            first = True
            limit = min(plan.end or self.anchor, self.anchor)
            while period_start < limit:
                period_end = add_span(period_start, *plan.product.accounting)
                if not (first and plan.order is not None):
                    events.append((period_start, len(purchases) + n, (plan, period_start, period_end)))
                else:
                    plan.record["_firstPeriod"] = (period_start, period_end)
                first = False
                period_start = period_end
        events.sort(key=lambda e: (e[0], e[1]))
        for when, _, event in events:
            if isinstance(event, Purchase):
                order = event.order
                assert order is not None
                ordered = next((p for p in plans if p.order is order), None)
                period = ordered.record.get("_firstPeriod") if ordered else None
                self.new_invoice(
                    order=order, subscription=ordered.record if ordered else None, when=when, period=period
                )
            else:
                plan, start, end = event
                self.new_invoice(order=None, subscription=plan.record, when=start, period=(start, end))
        last_periods: dict[int, Record] = {}
        for period in self.payment_periods:
            last_periods[period["subscriptionId"]] = period
        for plan in plans:
            plan.record.pop("_firstPeriod", None)
            self._booking_dates(plan.record, last_periods.get(plan.record["subscriptionId"]))

    def _booking_dates(self, subscription: Record, last: Record | None) -> None:
        if last is not None:
            subscription["lastBookingDate"] = last["startTime"][:10]
            if subscription["status"] == "ACTIVE" and not subscription.get("endDate"):
                subscription["nextBookingDate"] = last["endTime"][:10]
                subscription["changedDate"] = max(subscription["changedDate"], last["startTime"])

    def new_invoice(
        self,
        *,
        order: Record | None,
        subscription: Record | None,
        when: datetime,
        period: tuple[datetime, datetime] | None = None,
    ) -> Record:
        """An invoice for an order (first period included) or for one subscription period."""
        rng = self.rng
        source = order or subscription
        assert source is not None
        cid = source["invoiceCustomerId"]
        customer = self.customers.get(cid) or {}
        method = source["paymentMethod"]
        items: list[Record] = []
        if order is not None:
            for line in order["items"]:
                item = {
                    k: line[k]
                    for k in (
                        "position",
                        "title",
                        "productId",
                        "plenigoOfferId",
                        "plenigoProductId",
                        "price",
                        "tax",
                        "taxCountry",
                        "quantity",
                        "costCenter",
                        "deliveryCustomerId",
                    )
                }
                if "plenigoStepId" in line:
                    item["plenigoStepId"] = line["plenigoStepId"]
                if "deliveryAddress" in line:
                    item["deliveryAddress"] = line["deliveryAddress"]
                if "subscriptionItemId" in line and period is not None:
                    item["subscriptionItemId"] = line["subscriptionItemId"]
                    item["periodStartDate"], item["periodEndDate"] = ts(period[0]), ts(period[1])
                items.append(item)
            address = order["invoiceAddress"]
        else:
            assert subscription is not None and period is not None
            product = self.product_by_offer(subscription["plenigoOfferId"])
            for position, line in enumerate(subscription["items"], start=1):
                price = round(line["price"] * (100 - line.get("discountPercentage", 0)) / 100, 2)
                items.append(
                    {
                        "position": position,
                        "title": line["title"],
                        "productId": line["productId"],
                        "plenigoOfferId": subscription["plenigoOfferId"],
                        "plenigoProductId": line["plenigoProductId"],
                        "plenigoStepId": line["plenigoStepId"],
                        "price": price,
                        "tax": product.tax if product else 7.0,
                        "taxCountry": "DE",
                        "quantity": line.get("quantity", 1),
                        "costCenter": line.get("costCenter", ""),
                        "deliveryCustomerId": subscription.get("deliveryCustomerId", cid),
                        "subscriptionItemId": line["subscriptionItemId"],
                        "periodStartDate": ts(period[0]),
                        "periodEndDate": ts(period[1]),
                        "discountPercentage": line.get("discountPercentage", 0),
                    }
                )
            known = self.addresses.get(subscription["invoiceAddressId"]) if "invoiceAddressId" in subscription else None
            address = self.address_copy(known or self.preferred_address(cid))
        for item in items:
            item["createdDate"] = item["changedDate"] = ts(when)
        total = round(sum(i["price"] * i["quantity"] for i in items), 2)
        paid = method != "BILLING" or when < self.anchor - timedelta(days=30) or rng.random() < 0.3
        if method != "BILLING" and rng.random() < 0.03:
            paid = False
        invoice: Record = {
            "invoiceDate": ts(when),
            "customerEmail": customer.get("invoiceEmail") or customer.get("email", ""),
            "accumulatedPrice": total,
            "currency": "EUR",
            "paymentMethod": method,
            "invoiceCustomerId": cid,
            "invoiceAddress": address,
            "type": "INVOICE",
            "status": "PAID" if paid else "NOT_PAID",
            "paymentChangedToBilling": False,
            "items": items,
            "_customerId": cid,
            "_orderId": order["orderId"]
            if order is not None
            else subscription.get("_orderId")
            if subscription
            else None,
            "_subscriptionItemIds": [i["subscriptionItemId"] for i in items if "subscriptionItemId" in i],
            **self.audit(when, by="SYSTEM"),
        }
        if source.get("paymentMethodId") is not None:
            invoice["paymentMethodId"] = source["paymentMethodId"]
        if source.get("purchaseOrderIndicator"):
            invoice["purchaseOrderIndicator"] = source["purchaseOrderIndicator"]
        if paid and method == "BILLING":
            invoice["changedDate"] = ts(min(when + timedelta(days=rng.randint(3, 20)), self.anchor))
        self.invoices.insert(invoice)
        transaction = None
        if method != "BILLING" and total > 0:
            transaction = self.new_transaction(invoice, when, success=paid)
            invoice["transactionId"] = transaction["plenigoTransactionId"]
        if subscription is not None and period is not None:
            self.payment_periods.insert(
                {
                    "subscriptionId": subscription["subscriptionId"],
                    "customerId": cid,
                    "startTime": ts(period[0]),
                    "endTime": ts(period[1]),
                    "success": paid,
                    "accessBlocked": False,
                    "accessBlockedInPeriod": False,
                    "paused": False,
                    "externalBilling": False,
                    "paymentRecalled": False,
                    "invoiceId": invoice["invoiceId"],
                    "bookingTries": 1 if paid else 3,
                    "paymentMethod": method,
                    "accumulatedPrice": total,
                    "nextBookingDate": day_only(period[1]),
                    **({"plenigoTransactionId": transaction["plenigoTransactionId"]} if transaction else {}),
                    **({"failureSource": "CUSTOMER"} if not paid and method != "BILLING" else {}),
                    **self.audit(when, by="SYSTEM"),
                }
            )
        return invoice

    def ksuid(self, when: datetime) -> str:
        """A 27-character, time-ordered id like plenigo's transaction ids (KSUID-style)."""
        alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
        # 32 bits of seconds since the KSUID epoch, then 128 random bits: 27 base62 characters.
        value = (max(int(when.timestamp()) - 1_400_000_000, 0) << 128) | self.rng.getrandbits(128)
        chars = []
        for _ in range(27):
            value, rest = divmod(value, 62)
            chars.append(alphabet[rest])
        return "".join(reversed(chars))

    def new_transaction(self, invoice: Record, when: datetime, *, success: bool = True) -> Record:
        method = invoice["paymentMethod"]
        provider, action = {
            "CREDIT_CARD": ("STRIPE", "CREDIT_CARD_PAYMENT"),
            "PAYPAL": ("PAYPAL", "PAYPAL_REFERENCE_TRANSACTION"),
            "BANK_ACCOUNT": ("PAYONE", "SEPA_DEBIT"),
        }.get(method, ("PAYONE", "SEPA_DEBIT"))
        return self.transactions.insert(
            {
                "plenigoTransactionId": self.ksuid(when),
                "transactionId": str(self.rng.randint(10**10, 10**11 - 1)),
                "transactionDate": ts(when),
                "fulfillmentDate": ts(when + timedelta(seconds=self.rng.randint(1, 90))),
                "sortKey": int(when.strftime("%Y%m%d%H%M%S")) * 1000 + self.rng.randint(0, 999),
                "amount": invoice["accumulatedPrice"],
                "currency": invoice["currency"],
                "paymentProvider": provider,
                "paymentMethod": method,
                "paymentAction": action,
                "paymentStatus": "SUCCESS" if success else "FAILURE",
                "customerId": invoice["invoiceCustomerId"],
                "pspTransactionId": f"{provider.lower()}_{self.rng.getrandbits(48):012x}",
                "description": f"Rechnung {invoice['invoiceId']}",
                **({} if success else {"errorCode": "card_declined", "errorMessage": "Your card was declined."}),
                "createdDate": ts(when),
                "changedDate": ts(when),
            }
        )

    # access rights, addons, cross client, deliveries, misc ------------------------

    def _extras(self, customers: list[Record], purchases: list[Purchase], plans: list[SubPlan]) -> None:
        rng = self.rng
        for plan in sorted(plans, key=lambda p: p.record["subscriptionId"]):
            self.grant_subscription_access(plan.record)
        for purchase in purchases:
            if not purchase.product.subscription and purchase.order is not None:
                self.grant_order_access(purchase.order)
            if purchase.product.bonus and purchase.order is not None:
                self._addon(purchase.order, purchase.product.bonus, purchase.when)
        for customer in rng.sample(customers, k=min(4, len(customers))):
            created = datetime.fromisoformat(customer["createdDate"]) + timedelta(days=2)
            self.grant_access(
                customer["customerId"],
                {
                    "accessRightUniqueId": "press-account",
                    "itemType": "EXTERNAL",
                    "itemId": f"ext-{customer['customerId']}",
                    "lifeTimeStart": ts(created),
                    "lifeTimeEnd": ts(created + timedelta(days=365)),
                    "blocked": False,
                    "data": {"reason": "Presseaccount"},
                },
                created,
                by="MERCHANT",
            )
        self._cross_client(customers)
        self._deliveries()
        for n, plan in enumerate(plans):
            sub = plan.record
            if plan.precursor is None and (n == 0 or rng.random() < 0.3):
                self.chain_data.insert(
                    {
                        "chainId": sub["chainId"],
                        "data": {
                            "werber": f"W-{rng.randint(1000, 9999)}",
                            "kanal": rng.choice(["telefon", "web", "messe"]),
                        },
                    }
                )
            if sub["status"] == "ACTIVE" and rng.random() < 0.05:
                start = self.between(datetime.fromisoformat(sub["startDate"]), self.anchor)
                self.chain_status.insert(
                    {
                        "customerId": sub["invoiceCustomerId"],
                        "chainId": sub["chainId"],
                        "startTime": ts(start),
                        "endTime": ts(start + timedelta(days=rng.randint(2, 20))),
                        "oldStatus": "ACTIVE",
                        "newStatus": "BLOCKED",
                        "createdDate": ts(start),
                        "changedDate": ts(start),
                    }
                )
        card_customers = {c["customerId"] for c in self.credit_cards}
        no_card = next((c["customerId"] for c in customers if c["customerId"] not in card_customers), None)
        for customer in customers:
            cid = customer["customerId"]
            # Card payers have a Stripe customer; a few others started a card checkout and switched.
            if cid in card_customers or rng.random() < 0.08 or cid == no_card:
                self.stripe_customers.insert({"customerId": cid, "stripeId": f"cus_{self.ksuid(self.anchor)[-14:]}"})
        movers = self.addresses.list(type="DELIVERY") or self.addresses.list()
        for n, address in enumerate(movers):
            if n == 0 or rng.random() < 0.3:
                moved = self.person() | {
                    "lastName": address["lastName"],
                    "firstName": address["firstName"],
                    "salutation": address["salutation"],
                }
                day = (self.anchor + timedelta(days=rng.randint(7, 60))).date().isoformat()
                self.future_addresses.insert(
                    {
                        **{
                            k: moved[k]
                            for k in (
                                "salutation",
                                "firstName",
                                "lastName",
                                "street",
                                "streetNumber",
                                "postcode",
                                "city",
                                "country",
                            )
                        },
                        "businessAddress": False,
                        "validationStatus": "VALID",
                        "activationDate": f"{day}T00:00:00Z",
                        "_id": f"{address['addressId']}:{day}",
                        "_addressId": address["addressId"],
                    }
                )
        dossier = [p for p in purchases if p.product.key == "dossier-energy"]
        for purchase in dossier[:6]:
            self.wallets.insert(
                {
                    "customerId": purchase.customer["customerId"],
                    "uniqueId": "artikel-credits",
                    "title": "Artikel-Guthaben",
                    "availableCreditCount": rng.randint(1, 10),
                    "creditCountInvalidation": True,
                    "creditValidityTime": 12,
                    "creditValidityTimespan": "MONTH",
                    "creditValidityTimeStart": ts(purchase.when),
                    **self.audit(purchase.when, by="SYSTEM"),
                }
            )
        business = [c for c in customers if c.get("invoiceEmail")]
        business += [c for c in customers if c["status"] == "ACTIVATED" and c not in business]
        for customer in business[:2]:
            self.set_mark(
                customer,
                {
                    "dealerGroup": "Nord",
                    "dealerNumber": f"H-{rng.randint(1000, 9999)}",
                    "agencyPrice": 38.5,
                    "basePrice": 46.9,
                    "exitLiability": 3,
                },
                datetime.fromisoformat(customer["createdDate"]),
                by="MERCHANT",
            )
        for customer in rng.sample(customers, k=min(3, len(customers))):
            self._app_store(customer)

    def grant_subscription_access(self, sub: Record) -> None:
        for item in sub["items"]:
            start = datetime.fromisoformat(sub["startDate"])
            right: Record = {
                "accessRightUniqueId": item["accessRightUniqueId"],
                "itemType": "SUBSCRIPTION_ITEM",
                "itemId": str(item["subscriptionItemId"]),
                "lifeTimeStart": sub["startDate"],
                "lifeTimeEnd": sub.get("endDate"),
                "blocked": sub.get("accessBlocked", False),
                "productId": item["productId"],
                "plenigoOfferId": sub["plenigoOfferId"],
                "plenigoProductId": item["plenigoProductId"],
                "plenigoStepId": item["plenigoStepId"],
                "data": {},
            }
            self.grant_access(sub["deliveryCustomerId"], right, start, by="SYSTEM")

    def grant_order_access(self, order: Record) -> None:
        when = datetime.fromisoformat(order["orderDate"])
        for item in order["items"]:
            self.grant_access(
                item["deliveryCustomerId"],
                {
                    "accessRightUniqueId": item["accessRightUniqueId"],
                    "itemType": "SINGLE_PRODUCT",
                    "itemId": f"{order['orderId']}-{item['position']}",
                    "lifeTimeStart": order["orderDate"],
                    "lifeTimeEnd": None,
                    "blocked": False,
                    "productId": item["productId"],
                    "plenigoOfferId": item["plenigoOfferId"],
                    "plenigoProductId": item["plenigoProductId"],
                    "data": {},
                },
                when,
                by="SYSTEM",
            )

    def grant_access(self, customer_id: str, item: Record, when: datetime, *, by: str) -> Record:
        """Add an access right item to the customer's access rights (creating the record)."""
        record = self.access_rights.get(customer_id)
        stamped = {**item, **self.audit(when, by=by)}
        if record is None:
            record = self.access_rights.insert(
                {
                    "customerId": customer_id,
                    "customerBlocked": False,
                    "items": [stamped],
                    **self.audit(when, by=by),
                }
            )
        else:
            record["items"].append(stamped)
            record["changedDate"] = max(record["changedDate"], ts(when))
        return record

    def _addon(self, order: Record, bonus: str, when: datetime) -> None:
        delivered = when < self.anchor - timedelta(days=14)
        addon: Record = {
            "deliveryCustomerId": order["items"][0]["deliveryCustomerId"],
            "addonType": "BONUS",
            "plenigoAddonId": pid("A", bonus),
            "accessRightUniqueId": "praemie-" + ascii_name(bonus.split()[0])[:20],
            "orderId": order["orderId"],
            "orderItemPosition": 1,
            "status": "DELIVERED" if delivered else "READY_FOR_DELIVERY",
            "deliveryCondition": "AFTER_PAYMENT",
            **self.audit(when, by="SYSTEM"),
        }
        if delivered:
            sent = when + timedelta(days=3)
            addon["deliveryDate"] = ts(sent + timedelta(days=2))
            addon["trackingData"] = {
                "trackingId": f"00340434{self.rng.randint(10**11, 10**12 - 1)}",
                "trackingUrl": "https://tracking.example.com/parcel",
                "serviceProvider": "DHL",
                "sendingDate": ts(sent),
                "arrivalDate": ts(sent + timedelta(days=2)),
            }
            addon["changedDate"] = ts(sent + timedelta(days=2))
        self.addons.insert(addon)

    def _cross_client(self, customers: list[Record]) -> None:
        rng = self.rng
        product = PARTNER_PRODUCT
        chosen = [c for c in customers if c["status"] == "ACTIVATED"][3:6]
        for customer in chosen:
            start = datetime.fromisoformat(customer["createdDate"]) + timedelta(days=rng.randint(5, 60))
            if start >= self.anchor:
                continue
            plan = SubPlan(customer, product, start, self.payment_method(customer, start))
            record = self.subscription_record(plan)
            record["subscriptionType"] = "CROSS_COMPANY_TIME_BASED"
            record["connectedOffer"] = True
            record["activePartners"] = [PARTNER_COMPANY_ID]
            record["connectedOfferInfo"] = {
                "contractCompanyId": COMPANY_ID,
                "companyId": PARTNER_COMPANY_ID,
                "customerId": str(rng.randint(300000, 399999)),
                "plenigoOfferId": product.plenigo_offer_id,
            }
            self.subscriptions.insert(record)
            self.grant_subscription_access(record)
            self.cross_transactions.insert(
                {
                    "sourceCompanyId": PARTNER_COMPANY_ID,
                    "connectedCompanyId": COMPANY_ID,
                    "subscriptionId": record["subscriptionId"],
                    "type": "PAYMENT",
                    "paidStatus": rng.choice(["OPEN", "PAID"]),
                    "paymentMethod": record["paymentMethod"],
                    "amount": product.price,
                    "currency": "EUR",
                    **self.audit(start, by="SYSTEM"),
                }
            )
        for n in range(3):
            self.vouchers.insert({"voucherCode": f"ALPEN-{2025 + n}-{rng.randint(1000, 9999)}", "used": False})

    def _deliveries(self) -> None:
        """Delivery dates of print subscriptions for the last eight Saturday editions."""
        saturday = self.anchor - timedelta(days=(self.anchor.weekday() - 5) % 7)
        for n in range(8, 0, -1):
            edition = midnight((saturday - timedelta(weeks=n - 1)).date()) + timedelta(hours=3)
            for sub in self.subscriptions:
                product = self.product_by_offer(sub["plenigoOfferId"])
                if product is None or not product.printed or sub["startDate"] > ts(edition):
                    continue
                if sub.get("endDate") and sub["endDate"] < ts(edition):
                    continue
                self.delivery_dates.insert(
                    {
                        "title": f"Wochenendausgabe {edition:%d.%m.%Y}",
                        "publishingDate": ts(edition),
                        "subscriptionId": sub["subscriptionId"],
                        "subscriptionItemId": sub["items"][0]["subscriptionItemId"],
                        "deliveryListId": DELIVERY_LIST_ID,
                        "deliveryListDateId": 2400 + 9 - n,
                        "deliveryCustomerId": sub["deliveryCustomerId"],
                        **({"deliveryAddressId": sub["deliveryAddressId"]} if "deliveryAddressId" in sub else {}),
                        "createdDate": ts(edition - timedelta(days=2)),
                        "changedDate": ts(edition - timedelta(days=2)),
                    }
                )

    def set_mark(self, customer: Record, data: Record, when: datetime, *, by: str = "API") -> Record:
        record = self.marks.get(customer["customerId"])
        if record is None:
            record = self.marks.insert({"customerId": customer["customerId"], "WBZ": {}, **self.audit(when, by=by)})
        record["WBZ"] = dict(data)
        if "WBZ" not in customer["customerMarks"]:
            customer["customerMarks"] = [*customer["customerMarks"], "WBZ"]
        return record

    def _app_store(self, customer: Record) -> None:
        rng = self.rng
        when = datetime.fromisoformat(customer["createdDate"]) + timedelta(days=rng.randint(1, 30))
        store = rng.choice(["APPSTORE", "PLAYSTORE"])
        sub = self.app_store_subscriptions.insert(
            {
                "chainId": 0,
                "externalSystemId": str(rng.randint(10**14, 10**15 - 1)),
                "customerId": customer["customerId"],
                "startDate": ts(when),
                "endDate": ts(add_months(when, 1)),
                "status": "ACTIVE",
                "accessRightUniqueId": "nordlicht-plus",
                **self.audit(when, by="SYSTEM"),
            }
        )
        sub["chainId"] = sub["appStoreSubscriptionId"]
        self.app_store_orders.insert(
            {
                "orderDate": ts(when),
                "customerId": customer["customerId"],
                "storeType": store,
                "items": [
                    {
                        "position": 1,
                        "deliveryCustomerId": customer["customerId"],
                        "productId": "de.nordlicht.digital.monthly",
                        "appStoreSubscriptionId": sub["appStoreSubscriptionId"],
                        "accessRightUniqueId": "nordlicht-plus",
                        "createdDate": ts(when),
                        "changedDate": ts(when),
                    }
                ],
                **self.audit(when, by="SYSTEM"),
            }
        )
