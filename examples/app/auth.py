from fastapi import Depends, HTTPException
from fastapi.security import OAuth2PasswordBearer

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


class User:
    def __init__(self, id: int, tenant_id: int) -> None:
        self.id = id
        self.tenant_id = tenant_id


def get_current_user(token: str = Depends(oauth2_scheme)) -> User:
    if not token:
        raise HTTPException(status_code=401)
    return User(id=1, tenant_id=1)
