from fastapi import FastAPI

from app.api import admin, customers, orders

app = FastAPI(title="shop")
app.include_router(orders.router)
app.include_router(customers.router)
app.include_router(admin.router)


@app.get("/health")
def health():
    return {"ok": True}
