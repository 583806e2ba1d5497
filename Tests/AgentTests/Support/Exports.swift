// Every agent test uses the shared shell and polling helpers.
@_exported import TestSupport
