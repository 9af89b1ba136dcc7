"""The API's JSON parser: DRF's, with a body nested too deeply for Python's decoder refused as a 400.

About 1,000 levels of `[[[...]]]` (2 KB, well under the 4 KB limit) make json.loads raise
RecursionError. DRF lets it through as a 500, and it happens inside the CSRF check, which reads the
body before any view code runs. No API body needs more than two levels.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply") from None
