"""Niaga's load test: the journeys of a flash-sale day against the local stack, for `cargo xtask load`.

`cargo xtask load` writes the plan (stages of the ramp, the seeded logins, SKUs and search terms, the flash-sale
SKUs) to the JSON file named by NIAGA_LOAD_PLAN, passes the payments secret's server key in NIAGA_LOAD_SERVER_KEY
(never on disk), runs Locust headless against the gateway, and reads back the records this file writes: one JSON
line per HTTP attempt (`"kind": "req"`) and one per order placed or paid, from which it builds the summary, finds
the knee and checks the database against what the clients were told.

Journeys (user classes):
- Browser: anonymous search and product pages, revisiting pages with If-None-Match as a browser does (304s);
- Partner: logs in once, browses, quotes, tops the cart up to the minimum order, orders with an Idempotency-Key,
  pays through the payment gateway's callback (Midtrans shape, SHA-512 signature), reads the order back; one partner in five
  buys on 30 days' terms, and its order is confirmed at once and goes to the ERP with nothing paid at the gateway;
- SalesAgent: a sales agent placing orders for its assigned partners (X-Act-For-Partner);
- AiAgent: the seeded AI agent (client credentials) submitting SEO and price-proposal jobs and polling them;
- FlashBuyer: partners waiting on a handful of hot SKUs, then all ordering them at once when the sale opens;
- Warehouse: the ERP's warehouse (through the fake ERP's admin API): ships the orders the ERP holds, whole or a unit
  at a time, takes the odd unit back as a return, and fires the stock-sync schedule, so shipments, returns and
  stock snapshots interleave with checkout as they do on a working day.

Every attempt answered 503 or 429 with Retry-After (or 409 for a key still in flight) is retried after that many
seconds with the same request, Idempotency-Key included. 409 out-of-stock and 422 (credit, minimum) are answers of
the business: counted and reported, not errors. Anything else that is not 2xx/304, or no answer at all, is an error.

Every simulated user connects from its own loopback address (127.1.x.y), as real clients arrive from their own
addresses, so the per-source budgets (logins, public reads) apply per user as they would in production.
"""

import hashlib
import itertools
import json
import math
import os
import random
import time
import uuid

import gevent
from locust import HttpUser, LoadTestShape, between, events, task
from requests.adapters import HTTPAdapter

PLAN = json.load(open(os.environ["NIAGA_LOAD_PLAN"], encoding="utf-8"))
SERVER_KEY = os.environ["NIAGA_LOAD_SERVER_KEY"]
RECORDS = open(PLAN["records"], "a", encoding="utf-8", buffering=1 << 16)
# Attempts per request before giving up (each waits its Retry-After).
ATTEMPTS = PLAN["attempts"]
# A Retry-After longer than this is cut short, so a bounded run keeps moving.
MAX_WAIT_S = 30.0
# The stage of the ramp the shape is in; every record carries it.
STAGE = {"index": -1}
_addresses = itertools.count(1)
_users = itertools.count(0)


def record(**fields):
    RECORDS.write(json.dumps(fields, separators=(",", ":")) + "\n")


@events.quitting.add_listener
def _flush(**_kw):
    RECORDS.flush()


@events.test_stop.add_listener
def _flush_on_stop(**_kw):
    RECORDS.flush()


class SourceAddress(HTTPAdapter):
    """Connects from one loopback address."""

    def __init__(self, address, **kw):
        self._address = address
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kw)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def problem_type(answer):
    doc = answer.json()
    return doc.get("type", "") if isinstance(doc, dict) else ""


def classify(answer):
    """`ok`, `business`, `retry` (with the seconds to wait) or `error`."""
    if answer.status == 0:
        return "error", None
    if answer.status < 400:
        return "ok", None
    in_flight = answer.status == 409 and problem_type(answer).endswith(":request-in-flight")
    if answer.status in (429, 503) or in_flight:
        try:
            return "retry", float(answer.headers.get("retry-after", ""))
        except ValueError:
            return "error", None
    if answer.status in (409, 422):
        return "business", None
    return "error", None


class NiagaUser(HttpUser):
    abstract = True

    def on_start(self):
        n = next(_addresses)
        self.number = next(_users)
        adapter = SourceAddress(f"127.1.{n // 250}.{n % 250 + 1}")
        self.client.mount("http://", adapter)
        self.token = None
        self.cache = {}
        self.ensure_token()

    def credentials(self):
        """The login form for this user; `None` for anonymous users."""
        return None

    def ensure_token(self):
        """Logs in when this user has credentials and no token yet; false when it could not."""
        form = self.credentials()
        if form is None or self.token:
            return True
        answer = self.send("POST", "/auth/token", "POST /auth/token", data=form, auth=False)
        doc = answer.json() if answer.status == 200 else None
        self.token = doc.get("access_token") if isinstance(doc, dict) else None
        return self.token is not None

    def send(self, method, path, name, headers=None, json_body=None, data=None, auth=True):
        """One request, retried with the same everything after 503/429 (and a key still in flight)."""
        headers = dict(headers or {})
        if auth and self.token:
            headers["authorization"] = f"Bearer {self.token}"
        for attempt in range(1, ATTEMPTS + 1):
            started = time.time()
            t0 = time.perf_counter()
            with self.client.request(
                method, path, name=name, headers=headers, json=json_body, data=data, catch_response=True, timeout=40
            ) as resp:
                ms = (time.perf_counter() - t0) * 1000.0
                answer = Answer(resp.status_code or 0, resp.headers, resp.text if resp.status_code else "")
                outcome, wait = classify(answer)
                if outcome == "error":
                    cause = str(resp.error) if answer.status == 0 else answer.body[:300]
                    resp.failure(f"{answer.status}: {cause}")
                else:
                    resp.success()
            fields = dict(kind="req", t=started, stage=STAGE["index"], users=self.environment.runner.user_count,
                          name=name, status=answer.status, ms=round(ms, 3), outcome=outcome, attempt=attempt)
            if outcome == "error":
                fields["detail"] = (str(resp.error) if answer.status == 0 else answer.body[:300])
            record(**fields)
            if outcome != "retry":
                return answer
            gevent.sleep(min(wait, MAX_WAIT_S))
        record(kind="gave_up", t=time.time(), name=name, attempts=ATTEMPTS)
        return answer

    # --- journeys' steps -------------------------------------------------------------------------------------

    def browse(self, searches=1):
        """Search, maybe a second page, then a product page or two (revisits go through If-None-Match)."""
        skus = []
        for _ in range(searches):
            if random.random() < 0.75:
                q = random.choice(PLAN["queries"])
                path = f"/products?q={q.replace(' ', '+')}&limit=20"
            else:
                path = f"/products?category={random.choice(PLAN['categories'])}&limit=20"
            doc = self.get_cached(path, "GET /products")
            if isinstance(doc, dict):
                skus += [p["sku"] for p in doc.get("items", []) if "sku" in p]
                if doc.get("next_cursor") and random.random() < 0.3:
                    self.get_cached(f"{path}&cursor={doc['next_cursor']}", "GET /products")
        for _ in range(random.randint(1, 2)):
            sku = random.choice(skus) if skus and random.random() < 0.7 else random.choice(PLAN["skus"])
            self.get_cached(f"/products/{sku}", "GET /products/{sku}")

    def get_cached(self, path, name):
        """A GET as a browser makes it: with If-None-Match when the page was seen before, reusing it on 304."""
        seen = self.cache.get(path)
        headers = {"if-none-match": seen[0]} if seen else {}
        answer = self.send("GET", path, name, headers=headers, auth=False)
        if answer.status == 304 and seen:
            return seen[1]
        if answer.status == 200:
            doc = answer.json()
            etag = answer.headers.get("etag")
            if etag:
                if len(self.cache) > 200:
                    self.cache.pop(next(iter(self.cache)))
                self.cache[path] = (etag, doc)
            return doc
        return None

    def quote_to_minimum(self, lines, extra_headers=None):
        """Quotes the cart and, like the shop's cart page, tops up its last line until the minimum is met."""
        answer = self.send("POST", "/quotes", "POST /quotes", headers=extra_headers, json_body={"lines": lines})
        doc = answer.json() if answer.status == 200 else None
        if not doc:
            return None
        short = int(doc.get("short_of_minimum") or 0)
        if short > 0:
            unit = int(doc["lines"][-1]["unit_price"]) or 1
            lines[-1]["quantity"] += math.ceil(short / unit)
        return lines

    def order(self, lines, extra_headers=None, flash=False):
        """POST /orders with a fresh Idempotency-Key (kept across retries). Returns the order or None."""
        key = str(uuid.uuid4())
        headers = dict(extra_headers or {})
        headers["idempotency-key"] = key
        record(kind="order_sent", t=time.time(), key=key, flash=flash)
        answer = self.send("POST", "/orders", "POST /orders", headers=headers, json_body={"lines": lines})
        if answer.status in (200, 201):
            doc = answer.json() or {}
            record(kind="order", t=time.time(), key=key, order_id=doc.get("id"), total=doc.get("total"),
                   flash=flash, replayed=answer.headers.get("idempotent-replayed") == "true")
            return doc
        if answer.status in (409, 422):
            record(kind="refused", t=time.time(), key=key, status=answer.status, type=problem_type(answer),
                   flash=flash)
        return None

    def pay(self, order):
        """The payment gateway's notification: mostly settlement, sometimes a denial, now and then sent twice. An
        order on payment terms (`confirmed`) is not paid through the gateway: the ERP invoices it."""
        if order.get("status") == "confirmed":
            record(kind="terms", t=time.time(), order_id=order["id"])
            return
        roll = random.random()
        status, code = ("deny", "202") if roll < 0.05 else ("settlement", "200")
        amount = f"{order['total_incl_tax']}.00"
        signature = hashlib.sha512(f"{order['id']}{code}{amount}{SERVER_KEY}".encode()).hexdigest()
        body = {
            "transaction_time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "transaction_status": status,
            "transaction_id": str(uuid.uuid4()),
            "status_message": "midtrans payment notification",
            "status_code": code,
            "signature_key": signature,
            "payment_type": "bank_transfer",
            "order_id": order["id"],
            "merchant_id": "G141532850",
            "gross_amount": amount,
            "fraud_status": "accept",
            "currency": "IDR",
        }
        for _ in range(2 if random.random() < 0.05 else 1):
            answer = self.send("POST", "/payments/callback", "POST /payments/callback", json_body=body, auth=False)
        doc = answer.json() if answer.status == 200 else None
        if doc:
            record(kind="paid", t=time.time(), order_id=order["id"], transaction_status=status,
                   outcome=doc.get("outcome"), order_status=doc.get("order_status"))

    def follow(self, order, extra_headers=None):
        self.send("GET", f"/orders/{order['id']}", "GET /orders/{id}", headers=extra_headers)

    def cart(self, lines_min=2, lines_max=4):
        skus = random.sample(PLAN["skus"], random.randint(lines_min, lines_max))
        return [{"sku": s, "quantity": random.randint(1, 6)} for s in skus]


class Browser(NiagaUser):
    """Anonymous shoppers: search, pages, product details."""

    weight = 5
    wait_time = between(0.5, 2.0)

    @task
    def shop(self):
        self.browse(searches=random.randint(1, 2))


class Partner(NiagaUser):
    """A partner's session: log in once, then browse → quote → order → pay → order status."""

    weight = 3
    wait_time = between(1.0, 3.0)

    def credentials(self):
        partners = PLAN["partners"]
        return {"grant_type": "password", "username": partners[(self.number * 7) % len(partners)],
                "password": PLAN["password"]}

    @task
    def buy(self):
        if not self.ensure_token():
            return
        self.browse(searches=1)
        lines = self.quote_to_minimum(self.cart())
        if not lines:
            return
        placed = self.order(lines)
        if not placed:
            return
        if random.random() < 0.97:
            self.pay(placed)
        self.follow(placed)
        if random.random() < 0.2:
            self.send("GET", "/orders?limit=10", "GET /orders")


class SalesAgent(NiagaUser):
    """A sales agent ordering for the partners assigned to it."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def credentials(self):
        agents = sorted(PLAN["sales_agents"])
        self.agent = agents[self.number % len(agents)]
        self.partners = PLAN["sales_agents"][self.agent]
        return {"grant_type": "password", "username": self.agent, "password": PLAN["password"]}

    @task
    def order_for_a_partner(self):
        if not self.ensure_token():
            return
        acting = {"x-act-for-partner": str(random.choice(self.partners))}
        lines = self.quote_to_minimum(self.cart(1, 3), acting)
        if not lines:
            return
        placed = self.order(lines, acting)
        if placed:
            self.pay(placed)
            self.follow(placed, acting)


class AiAgent(NiagaUser):
    """The AI agent: submits a job, then polls it until it is done (its own rate budget applies)."""

    fixed_count = PLAN["ai_agents"]
    wait_time = between(2.0, 5.0)

    def credentials(self):
        client = PLAN["agent_client"]
        return {"grant_type": "client_credentials", "client_id": client["id"], "client_secret": client["secret"]}

    @task
    def job(self):
        if not self.ensure_token():
            return
        skus = random.sample(PLAN["skus"], random.randint(10, 40))
        if random.random() < 0.5:
            body = {"type": "generate_product_seo", "skus": skus}
        else:
            tier = random.choice(["bronze", "silver", "gold", "platinum"])
            body = {"type": "bulk_price_proposal", "skus": skus, "tier": tier, "target_margin_bp": 2500}
        answer = self.send("POST", "/agent-jobs", "POST /agent-jobs",
                           headers={"idempotency-key": str(uuid.uuid4())}, json_body=body)
        doc = answer.json() if answer.status == 202 else None
        if not doc or "id" not in doc:
            return
        deadline = time.time() + 60
        while time.time() < deadline:
            gevent.sleep(random.uniform(1.0, 2.0))
            shown = self.send("GET", f"/agent-jobs/{doc['id']}", "GET /agent-jobs/{id}").json()
            if isinstance(shown, dict) and shown.get("status") == "succeeded":
                record(kind="job", t=time.time(), job_id=doc["id"], items=len(skus))
                return


class FlashBuyer(NiagaUser):
    """A partner in the flash sale: refreshes the hot SKUs' pages until the sale opens, then orders them."""

    weight = 3
    wait_time = between(0.2, 1.0)

    def credentials(self):
        partners = PLAN["partners"]
        return {"grant_type": "password", "username": partners[(self.number * 13 + 5) % len(partners)],
                "password": PLAN["password"]}

    @task
    def rush(self):
        if not self.ensure_token():
            return
        hot = random.choice(PLAN["hot_skus"])
        if time.time() < PLAN_STARTED["at"] + PLAN["flash_opens_after_s"]:
            self.get_cached(f"/products/{hot}", "GET /products/{sku}")
            return
        lines = [{"sku": hot, "quantity": random.randint(1, 3)}, {"sku": random.choice(PLAN["skus"]), "quantity": 1}]
        lines = self.quote_to_minimum(lines)
        if not lines:
            return
        placed = self.order(lines, flash=True)
        if placed:
            self.pay(placed)


class Warehouse(NiagaUser):
    """The ERP's warehouse: ships what the ERP holds, takes returns, and lets the stock sync read its book."""

    fixed_count = 1
    wait_time = between(0.5, 1.5)

    def erp(self, path, name, body=None):
        """One call to the fake ERP's admin API: 2xx, or 422 when there is nothing to do (nothing left to ship,
        not enough on the shelf); anything else is an error of the run."""
        started = time.time()
        with self.client.request("POST" if body is not None else "GET", PLAN["erp"] + path, name=name, json=body,
                                 catch_response=True, timeout=40) as resp:
            status = resp.status_code or 0
            ok = 200 <= status < 300 or status == 422
            if ok:
                resp.success()
            else:
                resp.failure(f"{status}")
        record(kind="req" if not ok else "warehouse", t=started, stage=STAGE["index"], name=name, status=status,
               outcome="ok" if 200 <= status < 300 else ("business" if ok else "error"),
               detail=None if ok else (resp.text or "")[:300])
        try:
            return status, resp.json()
        except ValueError:
            return status, None

    def on_start(self):
        super().on_start()
        # (NoRef, warehouse, SKU) of units this warehouse shipped and has not taken back.
        self.out = []

    @task
    def work(self):
        if self.out and random.random() < 0.2:
            i = random.randrange(len(self.out))
            no_ref, warehouse, sku = self.out[i]
            status, _ = self.erp("/_fake/retur", "ERP: return one unit",
                                 {"NoRef": no_ref, "Detail": [{"KodeGudang": warehouse, "KodeBarang": sku, "Qty": 1}]})
            if status == 201:
                self.out.pop(i)
        _, received = self.erp("/_fake/received", "ERP: sales orders")
        orders = {}
        for r in received or []:
            orders[r["no_ref"]] = r["document"].get("Detail", [])
        if not orders:
            return
        no_ref = random.choice(sorted(orders))
        if random.random() < 0.6:
            status, note = self.erp("/_fake/kirim", "ERP: ship all", {"NoRef": no_ref})
        else:
            line = random.choice(orders[no_ref])
            status, note = self.erp("/_fake/kirim", "ERP: ship one unit",
                                    {"NoRef": no_ref, "Detail": [{"KodeGudang": line["KodeGudang"],
                                                                  "KodeBarang": line["KodeBarang"], "Qty": 1}]})
        if status == 201 and isinstance(note, dict):
            for line in note.get("Detail", []):
                self.out.append((no_ref, line["KodeGudang"], line["KodeBarang"]))
        if random.random() < 0.3:
            answer = self.send("POST", "/_niaga/schedules/stock-sync/fire", "schedule: stock-sync", auth=False)
            if answer.status == 200 and '"error"' in answer.body:
                record(kind="req", t=time.time(), stage=STAGE["index"], name="schedule: stock-sync", status=500,
                       outcome="error", detail=answer.body[:300])


PLAN_STARTED = {"at": time.time()}


@events.test_start.add_listener
def _started(**_kw):
    PLAN_STARTED["at"] = time.time()


class Ramp(LoadTestShape):
    """The plan's stages, one after the other; the run stops by itself after the last."""

    def tick(self):
        elapsed = self.get_run_time()
        for i, stage in enumerate(PLAN["stages"]):
            if elapsed < stage["ends_at_s"]:
                if STAGE["index"] != i:
                    STAGE["index"] = i
                    record(kind="stage", t=time.time(), stage=i, users=stage["users"])
                return stage["users"], PLAN["spawn_rate"]
        return None
