import pytest

import golden


@pytest.fixture(scope="module")
def results(request):
    """Runs every case of the fixture file once (daemons side by side): name -> Result."""
    reason = golden.skip_reason()
    if reason:
        pytest.skip(reason)
    return golden.run_all(request.module.CASES, getattr(request.module, "SERVICES", golden.SERVICES))
