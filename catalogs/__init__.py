"""Catalogs: sources of items (id, image, label, attributes), read and checked.

Fashion-MNIST's idx files, a folder per class and a CSV/JSONL manifest are three sources of the
same kind; everything after scanning (indexing, evaluation, reports) treats them alike.
"""
