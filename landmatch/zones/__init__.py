"""Development zones (开发区) kept by their committees: boundary, level and kind, leading
industries, regional assessments with validity, contact."""
