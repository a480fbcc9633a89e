
bad span