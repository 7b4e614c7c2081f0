using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime;

/// <summary>
/// The optimizer-update check: decides, before anything is written, that an SGD/Adam/AdamW step cannot produce a NaN or
/// ±∞ in any parameter or optimizer state.
/// </summary>
/// <remarks>
/// <para>
/// Evaluating the update twice (once to check, once to write) would cost as much as the optimizer itself, and undoing
/// it needs a copy of every parameter and state. Instead the guard keeps, per parameter, an upper bound on |p|, |state1|
/// and |state2| and, from a bound on the step's |g| (the parameter's gradient norm, which the gradient check computes anyway), bounds the new values in double: for Adam
/// <c>|d| ≤ G + l2·P</c>, <c>|m'| ≤ β1·M + (1 − β1)·|d|</c>, <c>v' ≤ β2·V + (1 − β2)·d²</c>, and since the denominator is at
/// least eps, <c>|p'| ≤ |decay|·P + step_size·|m'| / eps</c>; for SGD <c>|buf'| ≤ μ·B + |d|</c> and
/// <c>|p'| ≤ P + lr·(|d| + μ·|buf'|)</c>. When every bound is below half of float's range the step is safe, and the
/// bounds of the new values become the tracked ones: no pass over the data at all.
/// </para>
/// <para>
/// The bounds are loose and grow over steps. When one fails, the guard first measures the real maxima (one pass over
/// values and state) and tries again; only if that still fails does it evaluate the update element by element without
/// writing, with the same float operations as <see cref="Optimizers"/>, and throw at the first element that would be
/// non-finite. On the CPU the real maxima are also re-measured every <see cref="RemeasureInterval"/> steps, so values
/// written into <c>Parameter.Value</c> from outside are picked up (and a non-finite one is reported as such).
/// </para>
/// </remarks>
public sealed partial class ModelGuard
{
    /// <summary>How often (in steps) the CPU re-measures the real maxima instead of trusting the derived bounds.</summary>
    public const int RemeasureInterval = 128;

    // Upper bounds of |value|, |state1|, |state2| (measured, or derived from the last update) and this step's bound on |g| (its gradient norm).
    private readonly double[] _maxValue, _maxState1, _maxState2, _maxGradient;
    private bool _boundsKnown;
    private int _stepsSinceMeasure;
    private long[]? _versions; // CPU: each Parameter.Version expected at the next check (ours bump it once per update)

    // Half of float's range: room for the rounding of the float arithmetic the double bounds stand for.
    private const double Limit = float.MaxValue / 2.0;
    private const double Slack = 1 + 1e-5;

    /// <summary>Forget the tracked maxima: call after parameters or state change outside an update (Initialize, Load, copies from a device).</summary>
    public void ParametersChanged() => _boundsKnown = false;

    private bool[]? _frozen;

    /// <summary>
    /// Marks parameter <paramref name="index"/> (in the order given to the constructor) as frozen: the optimizer never
    /// updates it, so the update check skips it (it has no optimizer state to check).
    /// </summary>
    public void Freeze(int index)
    {
        _frozen ??= new bool[_parameters.Count];
        _frozen[index] = true;
    }

    private bool IsFrozen(int k) => _frozen is { } frozen && frozen[k];

    // Parameter groups (a .model's `group` statements): parameter k updates with _rates[_groupOf[k]] and
    // _decays[_groupOf[k]]; without groups every parameter is in group 0 and the single-value checks fill slot 0.
    private int[]? _groupOf;
    private float[] _rates = new float[1], _decays = new float[1];

    /// <summary>
    /// Puts parameter <paramref name="index"/> in parameter group <paramref name="group"/> (0: no group): the update checks
    /// that take one learning rate and weight decay per group use that group's for it.
    /// </summary>
    public void Group(int index, int group)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(group);
        _groupOf ??= new int[_parameters.Count];
        _groupOf[index] = group;
        if (group >= _rates.Length)
        {
            Array.Resize(ref _rates, group + 1);
            Array.Resize(ref _decays, group + 1);
        }
    }

    private int GroupOf(int k) => _groupOf is { } groups ? groups[k] : 0;

    private float RateOf(int k) => _rates[GroupOf(k)];

    private float DecayOf(int k) => _decays[GroupOf(k)];

    // One learning rate and weight decay for every parameter (the checks without groups).
    private void Uniform(float lr, float weightDecay)
    {
        Array.Fill(_rates, lr);
        Array.Fill(_decays, weightDecay);
    }

    // One per group (index = group), as many as Group declared.
    private void PerGroup(ReadOnlySpan<float> lr, ReadOnlySpan<float> weightDecay)
    {
        if (lr.Length != _rates.Length || weightDecay.Length != _decays.Length)
            throw new ArgumentException($"{_model}: {_rates.Length} parameter group(s) need as many learning rates and weight decays; got {lr.Length} and {weightDecay.Length}.");
        lr.CopyTo(_rates);
        weightDecay.CopyTo(_decays);
    }

    /// <summary>
    /// Checks an SGD step (torch.optim.SGD, as <see cref="Optimizers.Sgd"/>) before it runs. <paramref name="syncHost"/>
    /// (GPU sessions) copies device values, state and gradients into the host parameters before a measuring pass; null on the CPU.
    /// </summary>
    public void Sgd(string caller, int step, float lr, float momentum, float weightDecay, bool nesterov, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        Uniform(lr, weightDecay);
        SgdCore(caller, step, momentum, nesterov, syncHost);
    }

    /// <summary>
    /// <see cref="Sgd(string, int, float, float, float, bool, Action?)"/> with parameter groups: <paramref name="lr"/> and
    /// <paramref name="weightDecay"/> hold one value per group (index 0: the parameters in no group), as <see cref="Group"/> assigned them.
    /// </summary>
    public void Sgd(string caller, int step, ReadOnlySpan<float> lr, float momentum, ReadOnlySpan<float> weightDecay, bool nesterov, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        PerGroup(lr, weightDecay);
        SgdCore(caller, step, momentum, nesterov, syncHost);
    }

    private void SgdCore(string caller, int step, float momentum, bool nesterov, Action? syncHost)
    {
        bool remeasure = Remeasure(syncHost);
        ExpectOwnUpdate(syncHost); // if this throws instead, the versions simply mismatch next time: one extra measure
        if (!remeasure && SgdBounded(momentum, nesterov, commit: false))
        {
            SgdBounded(momentum, nesterov, commit: true);
            return;
        }
        Measure(caller, step, syncHost);
        if (SgdBounded(momentum, nesterov, commit: true)) return;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            var (index, value) = UpdateCheck.Sgd(p.Value, p.Gradient, p.State1, RateOf(k), momentum, DecayOf(k), nesterov);
            if (index >= 0) ThrowUpdate(caller, step, "sgd", RateOf(k), p, index, value);
        }
        _boundsKnown = false; // exact, but nothing tracked: measure again next step
    }

    /// <summary>Checks an Adam step (L2 weight decay, as <see cref="Optimizers.Adam"/>) before it runs; <paramref name="step"/> is the 1-based step it will take.</summary>
    public void Adam(string caller, int step, float lr, float beta1, float beta2, float eps, float weightDecay, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        Uniform(lr, weightDecay);
        AdamCore(caller, step, "adam", beta1, beta2, eps, decoupled: false, syncHost);
    }

    /// <summary>Checks an AdamW step (decoupled weight decay, as <see cref="Optimizers.AdamW"/>) before it runs.</summary>
    public void AdamW(string caller, int step, float lr, float beta1, float beta2, float eps, float weightDecay, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        Uniform(lr, weightDecay);
        AdamCore(caller, step, "adamw", beta1, beta2, eps, decoupled: true, syncHost);
    }

    /// <summary><see cref="Adam(string, int, float, float, float, float, float, Action?)"/> with one lr and weight decay per parameter group.</summary>
    public void Adam(string caller, int step, ReadOnlySpan<float> lr, float beta1, float beta2, float eps, ReadOnlySpan<float> weightDecay, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        PerGroup(lr, weightDecay);
        AdamCore(caller, step, "adam", beta1, beta2, eps, decoupled: false, syncHost);
    }

    /// <summary><see cref="AdamW(string, int, float, float, float, float, float, Action?)"/> with one lr and weight decay per parameter group.</summary>
    public void AdamW(string caller, int step, ReadOnlySpan<float> lr, float beta1, float beta2, float eps, ReadOnlySpan<float> weightDecay, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        PerGroup(lr, weightDecay);
        AdamCore(caller, step, "adamw", beta1, beta2, eps, decoupled: true, syncHost);
    }

    // Adam: the weight decay is L2 (added to the gradient), decay 1. AdamW: no L2, p ·= 1 − lr·wd (rounded once, as Optimizers.AdamW).
    private float L2Of(int k, bool decoupled) => decoupled ? 0f : DecayOf(k);

    private float DecayFactorOf(int k, bool decoupled) => decoupled ? (float)(1.0 - (double)RateOf(k) * DecayOf(k)) : 1f;

    private void AdamCore(string caller, int step, string optimizer, float beta1, float beta2, float eps, bool decoupled, Action? syncHost)
    {
        int optimizerStep = step;
        bool remeasure = Remeasure(syncHost);
        ExpectOwnUpdate(syncHost);
        if (!remeasure && AdamBounded(beta1, beta2, eps, decoupled, optimizerStep, commit: false))
        {
            AdamBounded(beta1, beta2, eps, decoupled, optimizerStep, commit: true);
            return;
        }
        Measure(caller, step, syncHost);
        if (AdamBounded(beta1, beta2, eps, decoupled, optimizerStep, commit: true)) return;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            var (index, value) = UpdateCheck.Adam(p.Value, p.Gradient, p.State1, p.State2, RateOf(k), beta1, beta2, eps, L2Of(k, decoupled), DecayFactorOf(k, decoupled), optimizerStep);
            if (index >= 0) ThrowUpdate(caller, step, optimizer, RateOf(k), p, index, value);
        }
        _boundsKnown = false;
    }

    /// <summary>
    /// Checks an RMSprop step (as <see cref="Optimizers.Rmsprop"/>) before it runs: state 1 is square_avg, state 2 the
    /// momentum buffer (momentum ≠ 0) or grad_avg (centered). The step is at most <c>lr·|d| / eps</c> per element (with
    /// momentum, the buffer's bound), since the denominator is at least eps.
    /// </summary>
    public void Rmsprop(string caller, int step, float lr, float alpha, float eps, float weightDecay, float momentum, bool centered, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        Uniform(lr, weightDecay);
        RmspropCore(caller, step, alpha, eps, momentum, centered, syncHost);
    }

    /// <summary><see cref="Rmsprop(string, int, float, float, float, float, float, bool, Action?)"/> with one lr and weight decay per parameter group.</summary>
    public void Rmsprop(string caller, int step, ReadOnlySpan<float> lr, float alpha, float eps, ReadOnlySpan<float> weightDecay, float momentum, bool centered, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        PerGroup(lr, weightDecay);
        RmspropCore(caller, step, alpha, eps, momentum, centered, syncHost);
    }

    private void RmspropCore(string caller, int step, float alpha, float eps, float momentum, bool centered, Action? syncHost)
    {
        bool remeasure = Remeasure(syncHost);
        ExpectOwnUpdate(syncHost);
        if (!remeasure && RmspropBounded(alpha, eps, momentum, centered, commit: false))
        {
            RmspropBounded(alpha, eps, momentum, centered, commit: true);
            return;
        }
        Measure(caller, step, syncHost);
        if (RmspropBounded(alpha, eps, momentum, centered, commit: true)) return;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            var (index, value) = UpdateCheck.Rmsprop(p.Value, p.Gradient, p.State1, p.State2, RateOf(k), alpha, eps, DecayOf(k), momentum, centered);
            if (index >= 0) ThrowUpdate(caller, step, "rmsprop", RateOf(k), p, index, value);
        }
        _boundsKnown = false;
    }

    private bool RmspropBounded(float alpha, float eps, float momentum, bool centered, bool commit)
    {
        if (!_boundsKnown || !(eps > 0) || alpha is not (>= 0 and <= 1)) return false;
        double a = alpha, c = 1.0 - alpha, mu = Math.Abs((double)momentum);
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            double wd = Math.Abs((double)DecayOf(k)), rate = Math.Abs((double)RateOf(k));
            double d = _maxGradient[k] + wd * _maxValue[k];
            double sq = a * _maxState1[k] + c * d * d;
            // |ga'| ≤ α·|ga| + (1 − α)·|d| (centered); |buf'| ≤ μ·|buf| + |d| / eps (momentum); either is state 2.
            double second = centered ? a * _maxState2[k] + c * d : momentum != 0 ? mu * _maxState2[k] + d / eps : 0;
            double direction = momentum != 0 ? second : d / eps;
            double value = _maxValue[k] + rate * direction;
            if (!(d * d < Limit && sq < Limit && second * second < Limit && direction < Limit && value < Limit)) return false;
            if (commit)
            {
                _maxValue[k] = value * Slack;
                _maxState1[k] = sq * Slack;
                _maxState2[k] = second * Slack;
            }
        }
        return true;
    }

    // CPU only (no syncHost): when a parameter's Version moved other than by our own updates (code that wrote Value and
    // called MarkChanged), and every RemeasureInterval steps in case it wrote without calling it; always when nothing is tracked.
    private bool Remeasure(Action? syncHost)
    {
        if (!_boundsKnown) return true;
        if (syncHost is not null) return false;
        if (_versions is { } versions)
        {
            for (int k = 0; k < _parameters.Count; k++)
            {
                if (IsFrozen(k)) continue;
                if (_parameters[k].Version != versions[k]) return true;
            }
        }
        return ++_stepsSinceMeasure >= RemeasureInterval;
    }

    // The update about to run bumps each Version once (MarkChanged after the optimizer): expect exactly that next time.
    private void ExpectOwnUpdate(Action? syncHost)
    {
        if (syncHost is not null) return;
        _versions ??= new long[_parameters.Count];
        for (int k = 0; k < _parameters.Count; k++) _versions[k] = _parameters[k].Version + 1;
    }

    private bool SgdBounded(float momentum, bool nesterov, bool commit)
    {
        if (!_boundsKnown) return false;
        double mu = Math.Abs((double)momentum);
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            double wd = Math.Abs((double)DecayOf(k)), rate = Math.Abs((double)RateOf(k));
            double d = _maxGradient[k] + wd * _maxValue[k];
            double buffer = momentum != 0 ? mu * _maxState1[k] + d : 0;
            double direction = momentum == 0 ? d : nesterov ? d + mu * buffer : buffer;
            double value = _maxValue[k] + rate * direction;
            if (!(d < Limit && buffer < Limit && direction < Limit && value < Limit)) return false;
            if (commit)
            {
                _maxValue[k] = value * Slack;
                _maxState1[k] = buffer * Slack;
            }
        }
        return true;
    }

    private bool AdamBounded(float beta1, float beta2, float eps, bool decoupled, int optimizerStep, bool commit)
    {
        if (!_boundsKnown || !(eps > 0) || optimizerStep <= 0) return false;
        double correction = 1.0 - Math.Pow(beta1, optimizerStep);
        double b1 = Math.Abs((double)beta1), c1 = Math.Abs(1.0 - beta1), b2 = Math.Abs((double)beta2), c2 = Math.Abs(1.0 - beta2);
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            double stepSize = Math.Abs(RateOf(k) / correction);
            float l2 = L2Of(k, decoupled), decay = DecayFactorOf(k, decoupled);
            if (!(stepSize < Limit)) return false;
            double d = _maxGradient[k] + Math.Abs((double)l2) * _maxValue[k];
            // m' = m + (1 − β1)(d − m) = β1·m + (1 − β1)·d for β1 in [0, 1]; otherwise the looser form of the first expression.
            double m = beta1 is >= 0 and <= 1 ? b1 * _maxState1[k] + c1 * d : _maxState1[k] + c1 * (d + _maxState1[k]);
            double v = b2 * _maxState2[k] + c2 * d * d;
            double ratio = m / eps;
            double value = Math.Abs((double)decay) * _maxValue[k] + stepSize * ratio;
            if (!(d * d < Limit && d + _maxState1[k] < Limit && m < Limit && v < Limit && ratio < Limit && value < Limit)) return false;
            if (commit)
            {
                _maxValue[k] = value * Slack;
                _maxState1[k] = m * Slack;
                _maxState2[k] = v * Slack;
            }
        }
        return true;
    }

    // One pass over values and state: the real maxima (a non-finite value or state is reported as such).
    private void Measure(string caller, int step, Action? syncHost)
    {
        syncHost?.Invoke();
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            _maxValue[k] = MaxMagnitude(caller, step, p, p.Value, "value");
            _maxState1[k] = p.StateCount >= 1 ? MaxMagnitude(caller, step, p, p.State1, "optimizer state 1") : 0;
            _maxState2[k] = p.StateCount >= 2 ? MaxMagnitude(caller, step, p, p.State2, "optimizer state 2") : 0;
        }
        _boundsKnown = true;
        _stepsSinceMeasure = 0;
    }

    private double MaxMagnitude(string caller, int step, Parameter p, float[] values, string what)
    {
        if (values.Length == 0) return 0;
        float max = Math.Abs(TensorPrimitives.MaxMagnitude<float>(values));
        if (float.IsFinite(max)) return max;
        int index = FiniteScan.IndexOfNonFinite(values);
        float value = values[Math.Max(index, 0)];
        throw new NonFiniteException(
            $"{caller}{StepText(step)}: the {what} of parameter '{p.Name}' ({p.Source}) holds {FiniteScan.Describe(value)} at element {index} before the update "
            + "(written from outside the model, or checks were off when it appeared); the optimizer did not run.",
            NonFiniteSource.Parameter, p.Name, index, step, value, p.Source);
    }

    private static void ThrowUpdate(string caller, int step, string optimizer, float lr, Parameter p, int index, float value) =>
        throw new NonFiniteException(
            $"{caller}{StepText(step)}: the {optimizer} update with learning rate {lr.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} would make "
            + $"'{p.Name}' ({p.Source}) {FiniteScan.Describe(value)} at element {index}; the update was not applied and nothing was changed. Lower the learning rate.",
            NonFiniteSource.Update, p.Name, index, step, value, p.Source);
}
