from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.auth import get_current_user
from app.db.session import get_db

# Written for the finance dashboard; never included in the application.
router = APIRouter(prefix="/reports", dependencies=[Depends(get_current_user)])


@router.get("/revenue")
def revenue(db: Session = Depends(get_db)):
    return db.execute(text("SELECT date_trunc('day', created_at) AS day, sum(total) FROM orders GROUP BY 1")).all()
