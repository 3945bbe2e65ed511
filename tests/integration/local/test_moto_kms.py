"""KMS under the patches: a key pair made on first use signs, verifies and shows its public key as moto's
did, for every kind of key, and creating a key no longer makes one."""

import boto3
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import load_der_public_key
from moto import mock_aws
from moto.kms import models

from local_stack import moto_patches

MESSAGE = b"the punch export of 2026-12-02"


@pytest.fixture
def kms():
    moto_patches.apply_moto_patches()
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


@pytest.mark.parametrize(
    ("key_spec", "algorithm"),
    [
        ("RSA_2048", "RSASSA_PSS_SHA_256"),
        ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_256"),
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ],
)
def test_an_asymmetric_key_signs_and_its_public_key_verifies_outside_kms(kms, key_spec, algorithm):
    # Given a signing key
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=key_spec)["KeyMetadata"]["KeyId"]
    # When a message is signed
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"]
    # Then KMS verifies it, and so does its public key read back, which is the same every time
    assert kms.verify(KeyId=key_id, Message=MESSAGE, Signature=signature, SigningAlgorithm=algorithm)[
        "SignatureValid"
    ]
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == der
    public = load_der_public_key(der)
    if key_spec.startswith("ECC"):
        public.verify(signature, MESSAGE, ec.ECDSA(hashes.SHA256()))
    elif "PSS" in algorithm:
        public.verify(
            signature, MESSAGE, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO), hashes.SHA256()
        )
    else:
        public.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    # And a signature of another message is refused
    assert not kms.verify(KeyId=key_id, Message=b"other", Signature=signature, SigningAlgorithm=algorithm)[
        "SignatureValid"
    ]


def test_a_symmetric_key_encrypts_and_decrypts_and_makes_no_key_pair(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=MESSAGE)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == MESSAGE
    key = models.kms_backends["123456789012"]["us-east-1"].keys[key_id]
    assert key.private_key._pair is None
