//! Platform-independent `exp`, `ln` and the inverse normal CDF, for the calibration model and
//! the generator's amount tables. Built only from `+ - * /` and `sqrt`, which IEEE 754 rounds
//! exactly, so the tables (and so the data) are the same on every machine, whatever its libm.

const LN_2: f64 = std::f64::consts::LN_2;

/// Multiplies `x` by `2^n` exactly (for the moderate `n` used here).
fn times_pow2(mut x: f64, n: i32) -> f64 {
    let factor = if n >= 0 { 2.0 } else { 0.5 };
    for _ in 0..n.unsigned_abs() {
        x *= factor;
    }
    x
}

/// `e^x` for |x| < 700, to within a few ulps.
pub fn exp(x: f64) -> f64 {
    let n = (x / LN_2).round();
    let r = x - n * LN_2;
    // Taylor series of e^r for |r| <= ln2/2: 25 terms are far past f64 precision.
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..25 {
        term *= r / f64::from(k);
        sum += term;
    }
    times_pow2(sum, n as i32)
}

/// Natural logarithm of a positive, finite `x`.
pub fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    // x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
    let (mut m, mut e) = (x, 0i32);
    while m >= std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    while m < std::f64::consts::FRAC_1_SQRT_2 {
        m *= 2.0;
        e -= 1;
    }
    // ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172: 30 odd terms are plenty.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut power, mut sum) = (s, 0.0);
    for k in 0..30 {
        sum += power / f64::from(2 * k + 1);
        power *= s2;
    }
    2.0 * sum + f64::from(e) * LN_2
}

/// The standard normal quantile `Φ⁻¹(p)` for `p` in (0, 1), by Acklam's rational
/// approximation (relative error below 1.2e-9), ample for amounts rounded to the cent.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * ln(p)).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * ln(1.0 - p)).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_ln_agree_with_the_platform_to_a_few_ulps() {
        for i in -400..400 {
            let x = f64::from(i) * 0.037;
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-14, "exp({x}): {rel}");
            let y = x.exp();
            assert!((ln(y) - x).abs() < 1e-13, "ln({y})");
        }
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-8);
    }
}
