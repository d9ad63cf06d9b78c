"""Marketplace listing: one adapter per platform behind one interface, batch listing
and stock push. A reserved home: the listing issue builds it."""
