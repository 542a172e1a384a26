
app_name = "surveys"

# Console pages (editor, invitations, results) are added by their modules.
urlpatterns: list = []
