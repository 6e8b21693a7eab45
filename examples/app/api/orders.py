from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from app.auth import User, get_current_user
from app.db.models import Order
from app.db.session import get_db

router = APIRouter(prefix="/orders", dependencies=[Depends(get_current_user)])


@router.get("")
def list_orders(
    status: str,
    limit: int = 50,
    db: Session = Depends(get_db),
    user: User = Depends(get_current_user),
):
    return (
        db.query(Order)
        .filter(Order.tenant_id == user.tenant_id, Order.status == status)
        .order_by(Order.created_at.desc())
        .limit(limit)
        .all()
    )


@router.get("/recent")
def recent_orders(
    page_size: int = Query(20, ge=1, le=100),
    db: Session = Depends(get_db),
    user: User = Depends(get_current_user),
):
    return db.query(Order).filter(Order.tenant_id == user.tenant_id).limit(page_size).all()


@router.get("/{order_id}")
def get_order(order_id: int, db: Session = Depends(get_db)):
    return db.query(Order).filter(Order.id == order_id).first()
