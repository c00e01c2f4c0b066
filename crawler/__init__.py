"""The Scrapy crawler: spider, items, the image-storing pipeline and settings."""
