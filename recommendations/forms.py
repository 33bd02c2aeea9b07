from django import forms

from recommendations.models import Review


class ReviewForm(forms.ModelForm):
    rating = forms.TypedChoiceField(
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)], coerce=int
    )

    class Meta:
        model = Review
        fields = ["rating", "title", "text"]
        labels = {"text": "Your review"}
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}
