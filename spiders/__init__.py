"""monitor's Scrapy spiders (``SPIDER_MODULES = ["spiders"]``)."""
