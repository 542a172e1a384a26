from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from cxloop.api.services import can_issue_for


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What uses it, e.g. ERP order sync.")
    )
    user = forms.ModelChoiceField(
        label=_("Acts as"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text=_("The token has exactly this user's permissions."),
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["user"].initial = actor.pk

    def clean_user(self):
        user = self.cleaned_data["user"]
        if not can_issue_for(actor=self.actor, user=user):
            raise forms.ValidationError(_("You cannot create a token for a user with more rights."))
        return user
