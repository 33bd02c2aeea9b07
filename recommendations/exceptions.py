from shop.exceptions import ShopError


class NotPurchased(ShopError):
    code = "not_purchased"
    status_code = 403
    default_message = "Only customers who bought this product can review it."


class AlreadyReviewed(ShopError):
    code = "already_reviewed"
    status_code = 409
    default_message = "You have already reviewed this product."


class InteractionNotAllowed(ShopError):
    code = "permission_denied"
    status_code = 403
    default_message = "You may not record this interaction."


class UnknownAlgorithm(ShopError):
    code = "validation_error"
    status_code = 400
    default_message = "Unknown recommendation algorithm."


class TrainingFailed(ShopError):
    code = "training_failed"
    status_code = 500
    default_message = "Training the recommendation models failed."
