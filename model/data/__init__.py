"""What users bring, read and checked: race records (CSV, Parquet, DataFrame), training files
(FIT, GPX, CSV) and the runner profile computed from them."""
