import ssl

from runtime.mqtt import connect_failure


def failure(error: BaseException) -> str:
    try:
        raise error
    except OSError:
        return connect_failure()


def test_the_reason_comes_from_the_error_being_handled():
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    assert failure(verify) == "TLS: unable to get local issuer certificate"
    assert failure(ConnectionRefusedError(111, "Connection refused")) == "Connection refused"
    assert failure(TimeoutError("timed out")) == "timed out"


def test_outside_an_error_it_says_so():
    assert connect_failure() == "connection failed"
