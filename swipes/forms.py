from django import forms


class SwipeForm(forms.Form):
    photo = forms.IntegerField(min_value=1)
    liked = forms.TypedChoiceField(choices=[("1", "Like"), ("0", "Nope")], coerce=lambda v: v == "1")
