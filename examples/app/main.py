from fastapi import FastAPI

from app.api import customers, orders

app = FastAPI(title="shop")
app.include_router(orders.router)
app.include_router(customers.router)


@app.get("/health")
def health():
    return {"ok": True}
