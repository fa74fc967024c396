"""The Lambda artifacts hold what the functions import, built for their architecture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from realtime_socket.component import packaging
from tests.support.helpers import ROOT, evaluate_socket, jwt_args

ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64


def archive_files(code) -> dict[str, Path]:
    """Flatten an AssetArchive (FileAssets and folder FileArchives) into path -> file."""
    files: dict[str, Path] = {}
    for name, asset in code.assets.items():
        path = Path(asset.path)
        if path.is_dir():
            for rel, file in packaging.python_files(path).items():
                files[f"{name}/{rel}"] = file
        else:
            files[name] = path
    return files


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    return int.from_bytes(header[18:20], "little")


def test_route_functions_ship_the_handlers_package(chat_recording):
    files = archive_files(chat_recording.named("chat-sendmessage-fn").inputs["code"])
    for module in ("__init__", "sendmessage", "fanout", "connections", "clients", "protocol"):
        assert f"realtime_socket/handlers/{module}.py" in files
    assert {"realtime_socket/__init__.py", "realtime_socket/contract.py"} <= set(files)
    # The Lambda slice only: the component, the CLI and the local runtime stay out.
    assert all(
        name.startswith("realtime_socket/handlers/")
        for name in files
        if name not in ("realtime_socket/__init__.py", "realtime_socket/contract.py")
    )
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)
    assert not any(name.startswith("jwt/") for name in files)  # only the authorizer needs it


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_jwks_authorizer_ships_pyjwt_and_cryptography_for_its_architecture(architecture):
    rec = evaluate_socket(
        "chat",
        jwt=jwt_args(secret=None, algorithms=["RS256"], jwks_url="https://idp.example.com/jwks"),
        functions={"architecture": architecture},
    )
    files = archive_files(rec.named("chat-authorizer-fn").inputs["code"])
    assert "realtime_socket/handlers/authorizer.py" in files
    assert "jwt/__init__.py" in files
    rust = [
        f for name, f in files.items() if name.startswith("cryptography/") and name.endswith(".so")
    ]
    assert rust
    for binary in rust:
        assert elf_machine(binary) == ELF_MACHINE[architecture]


def test_hmac_authorizer_ships_pyjwt_without_cryptography(chat_recording):
    files = archive_files(chat_recording.named("chat-authorizer-fn").inputs["code"])
    assert "jwt/__init__.py" in files
    assert not any(name.startswith("cryptography") for name in files)


def test_hs256_authorizer_runs_without_cryptography_on_a_lambda_like_path(tmp_path):
    """Only the artifact and the Lambda runtime's own packages on the path, as on Lambda."""
    from bench.support import lambda_runtime_dir as runtime_dir

    local = f"python{sys.version_info.major}.{sys.version_info.minor}"
    deps = packaging.dependency_dir(packaging.HMAC_REQUIREMENTS, "x86_64", local)
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    for rel, file in packaging.handler_files().items():
        (artifact / rel).parent.mkdir(parents=True, exist_ok=True)
        (artifact / rel).symlink_to(file)
    (artifact / "jwt").symlink_to(deps / "jwt")
    probe = textwrap.dedent(
        """
        import sys, time, jwt
        from realtime_socket.handlers import authorizer, tokens
        config = tokens.VerifierConfig(algorithms=("HS256",), issuer="i", audience=("a",))
        verifier = tokens.Verifier(config, secret_loader=lambda: "k" * 40)
        token = jwt.encode({"iss": "i", "aud": "a", "sub": "s", "exp": time.time() + 60},
                           "k" * 40, algorithm="HS256")
        print(verifier.verify(token)["sub"], "cryptography" in sys.modules, "pulumi" in sys.modules)
        """
    )
    env = {"PYTHONPATH": f"{artifact}{os.pathsep}{runtime_dir()}", "PATH": os.environ["PATH"]}
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["s", "False", "False"]


def test_packaging_failure_is_a_clear_error():
    with pytest.raises(packaging.PackagingError, match="no-such-package"):
        packaging.dependency_dir(("no-such-package-realtime-socket==0.0.0",), "arm64", "python3.12")


@pytest.mark.slow
def test_installed_wheel_is_usable_from_another_pulumi_program(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Reuse this environment's installed dependencies (pulumi-aws is large) but not its
    # checkout: only the wheel provides realtime_socket in the new environment.
    Path(site, "_outer_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
    )
    program = tmp_path / "consumer" / "program.py"
    program.parent.mkdir()
    program.write_text(
        textwrap.dedent(
            """
            import json, sys
            import pulumi
            import realtime_socket
            from realtime_socket import RealtimeSocket
            from realtime_socket.tools.recording import evaluate

            def main():
                socket = RealtimeSocket("orders", {"jwt": {
                    "issuer": "https://idp/", "audience": "shop", "secret": "k" * 40}})
                pulumi.export("url", socket.url)

            rec = evaluate(main, project="shop", stack="ci")
            code = rec.named("orders-connect-fn").inputs["code"]
            paths = {n: a.path for n, a in code.assets.items()}
            from realtime_socket.tools import cost
            print(json.dumps({"package": realtime_socket.__file__, "paths": paths,
                              "url": rec.exports["url"],
                              "prices": cost.load_prices()["read_on"]}))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run(
        [str(python), "-I", str(program)],
        cwd=program.parent,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["package"].startswith(site)
    assert result["url"].startswith("wss://")
    assert result["prices"]  # the price file ships in the wheel
    connect = Path(result["paths"]["realtime_socket/handlers/connect.py"])
    assert connect.is_file()
    assert str(connect).startswith(str(Path(site) / "realtime_socket" / "handlers"))
