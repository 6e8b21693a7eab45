from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.auth import User, get_current_user
from app.db.models import Customer
from app.db.session import get_db

router = APIRouter(prefix="/customers")


@router.get("")
def list_customers(db: Session = Depends(get_db), user: User = Depends(get_current_user)):
    return db.query(Customer).filter(Customer.tenant_id == user.tenant_id).all()


@router.get("/export")
def export_customers(db: Session = Depends(get_db)):
    return db.query(Customer).all()
