"""The coach's web page (`cramp app`): a form for one runner and one race, the plans compared.

`form` turns the form's values into a scenario document (and a TOML file `cramp simulate` reads),
`answer` runs it through the public API and prepares what the page shows, `page` is the Streamlit
script (layout only). Streamlit is imported by `page` alone, so the rest is testable without it.
"""
