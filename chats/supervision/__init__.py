"""Supervision for owners and supervisors: chat monitoring, exports and staffing."""
