"""The policy library (政策库): land and preferential policies with scope, industries,
benefit, conditions and validity; expired policies are never matched."""
