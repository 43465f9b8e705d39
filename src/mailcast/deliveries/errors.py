"""The refusal of a delivery action that the delivery's state or content does not allow."""


class DeliveryError(ValueError):
    """A delivery action that the delivery's state or content does not allow, and why."""
