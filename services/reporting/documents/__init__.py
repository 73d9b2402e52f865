"""Documents people read: protocols (HTML, PDF) in Russian and Kazakh, ratings (CSV, XLSX)."""
