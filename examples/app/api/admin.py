from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.auth import get_current_user
from app.db.models import Order
from app.db.session import get_db

# Platform staff see every tenant's orders; exempt from tenant checks in pyproject.toml.
router = APIRouter(prefix="/admin", dependencies=[Depends(get_current_user)])


@router.get("/orders/stuck")
def stuck_orders(db: Session = Depends(get_db)):
    return db.query(Order).filter(Order.status == "stuck").limit(100).all()
