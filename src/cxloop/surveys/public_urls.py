
app_name = "answer"

# The public answer pages (/s/…) are added by surveys/public_views.py.
urlpatterns: list = []
