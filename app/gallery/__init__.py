"""The gallery: a web page at ``/`` over the same service as the API."""
