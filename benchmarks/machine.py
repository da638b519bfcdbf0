"""What a speed figure was measured on: one line naming the machine, for every benchmark to print.

CPU: model, vendor family/model, the SIMD extensions that matter for matmuls, cores usable by
this process and in all, and the clock (Linux `/proc/cpuinfo`), and the memory allocator in use
(it moves the encoder's speed: README, Roofline); accelerators: JAX's device kind.
"""

from __future__ import annotations

import os
import platform

# SIMD flags worth naming (matmul and bf16/int8 paths); the rest of /proc/cpuinfo's list is noise.
_ISA = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni",
        "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "avx_vnni", "asimd", "sve", "sve2")


def _cpuinfo() -> dict[str, str]:
    """The first processor's `key: value` lines of /proc/cpuinfo ({} where there is none)."""
    out: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                out[key.strip()] = value.strip()
    except OSError:
        pass
    return out


_ALLOCATORS = ("tcmalloc", "jemalloc", "mimalloc")


def allocator(maps: str | None = None) -> str:
    """The malloc this process runs on: a preloaded `tcmalloc`, `jemalloc` or `mimalloc` found among
    the mapped libraries (`maps`: /proc/self/maps' text, read when None), else `glibc` on Linux,
    `system` elsewhere."""
    if maps is None:
        try:
            with open("/proc/self/maps") as f:
                maps = f.read()
        except OSError:
            return "system"
    libs = {line.rsplit("/", 1)[-1] for line in maps.splitlines() if ".so" in line}
    for name in _ALLOCATORS:
        if any(lib.startswith(("lib" + name, name)) for lib in libs):
            return name
    return "glibc" if any(lib.startswith("libc.so") for lib in libs) else "system"


def cpu_description() -> str:
    """E.g. `AMD EPYC (family 25, model 17, 2.60 GHz, cache 1024 KB), ISA avx2 fma ..., 2 of 2 cores,
    malloc glibc`."""
    info = _cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    ids = [f"{k} {info[f'cpu {k}']}" for k in ("family",) if f"cpu {k}" in info]
    ids += [f"model {info['model']}"] if "model" in info else []
    if "cpu MHz" in info:
        ids.append(f"{float(info['cpu MHz']) / 1000:.2f} GHz")
    flags = set((info.get("flags") or info.get("Features") or "").split())
    isa = [f for f in _ISA if f in flags]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if "cache size" in info:
        ids.append(f"cache {info['cache size']}")
    where = f" ({', '.join(ids)})" if ids else ""
    return (f"{name}{where}, ISA {' '.join(isa) or 'unknown'}, {usable} of {os.cpu_count()} cores, "
            f"malloc {allocator()}")


def describe() -> str:
    """The device JAX computes on, named: the CPU's description, or the accelerators' kind."""
    import jax

    devices = jax.devices()
    if devices[0].platform == "cpu":
        return f"CPU: {cpu_description()} (jax {jax.__version__})"
    kinds = sorted({d.device_kind for d in devices})
    return (f"{devices[0].platform.upper()}: {len(devices)} x {', '.join(kinds)} "
            f"(jax {jax.__version__}); host CPU: {cpu_description()}")


if __name__ == "__main__":
    print(describe())
