"""The JSON API and login, one APIRouter per area; create_app includes them all."""
