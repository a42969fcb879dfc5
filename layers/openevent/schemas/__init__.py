"""Resource schemas (wire types and their fields) and model → resource builders."""
