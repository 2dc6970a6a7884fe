"""Per-epoch Gamma, MH acceptance and swap rates of PCD+PT runs beside plain PCD (a table).

Usage: python results/rbm_quality_pcd_pt/trajectories.py PCD_METRICS PT_METRICS [LAST_EPOCH]
"""

import json
import sys


def main() -> None:
    pcd_path, pt_path = sys.argv[1], sys.argv[2]
    last = int(sys.argv[3]) if len(sys.argv) > 3 else None
    pcd = {r["epoch"]: r for r in map(json.loads, open(pcd_path).read().splitlines())}
    pt = [json.loads(x) for x in open(pt_path).read().splitlines()]
    print(
        "| epoch | Gamma PCD | Gamma PCD+PT | MH accept PCD | MH accept PCD+PT (beta=1) "
        "| swap rates | MH accept hotter replicas | epoch s (PT) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in pt:
        e = r["epoch"]
        if last is not None and e > last:
            break
        q = pcd[e]
        swaps = ", ".join(f"{x:.3f}" for x in r["pt_swap_rates"])
        hot = ", ".join(f"{x:.3f}" for x in r["pt_accept_rates"])
        print(
            f"| {e} | {q['gamma_mean']:.3f} | {r['gamma_mean']:.3f} | {q['accept_rate']:.3f} "
            f"| {r['accept_rate']:.3f} | {swaps} | {hot} | {r['time_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
