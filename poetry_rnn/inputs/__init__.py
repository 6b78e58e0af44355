"""Reading the inputs: downloads, GloVe vectors, poems from books, folders and record files, tokens, windows."""
