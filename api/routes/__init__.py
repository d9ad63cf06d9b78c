"""One router per area; each stays thin and calls engine/."""
