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

    /// <summary>
    /// Checks an SGD step (torch.optim.SGD, as <see cref="Optimizers.Sgd"/>) before it runs. <paramref name="syncHost"/>
    /// (GPU sessions) copies device values, state and gradients into the host parameters before a measuring pass; null on the CPU.
    /// </summary>
    public void Sgd(string caller, int step, float lr, float momentum, float weightDecay, bool nesterov, Action? syncHost = null)
    {
        if (!CheckFinite) return;
        bool remeasure = Remeasure(syncHost);
        ExpectOwnUpdate(syncHost); // if this throws instead, the versions simply mismatch next time: one extra measure
        if (!remeasure && SgdBounded(lr, momentum, weightDecay, nesterov, commit: false))
        {
            SgdBounded(lr, momentum, weightDecay, nesterov, commit: true);
            return;
        }
        Measure(caller, step, syncHost);
        if (SgdBounded(lr, momentum, weightDecay, nesterov, commit: true)) return;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            var (index, value) = UpdateCheck.Sgd(p.Value, p.Gradient, p.State1, lr, momentum, weightDecay, nesterov);
            if (index >= 0) ThrowUpdate(caller, step, "sgd", lr, p, index, value);
        }
        _boundsKnown = false; // exact, but nothing tracked: measure again next step
    }

    /// <summary>Checks an Adam step (L2 weight decay, as <see cref="Optimizers.Adam"/>) before it runs; <paramref name="step"/> is the 1-based step it will take.</summary>
    public void Adam(string caller, int step, float lr, float beta1, float beta2, float eps, float weightDecay, Action? syncHost = null) =>
        AdamCore(caller, step, "adam", lr, beta1, beta2, eps, l2: weightDecay, decay: 1f, syncHost);

    /// <summary>Checks an AdamW step (decoupled weight decay, as <see cref="Optimizers.AdamW"/>) before it runs.</summary>
    public void AdamW(string caller, int step, float lr, float beta1, float beta2, float eps, float weightDecay, Action? syncHost = null) =>
        AdamCore(caller, step, "adamw", lr, beta1, beta2, eps, l2: 0f, decay: (float)(1.0 - (double)lr * weightDecay), syncHost);

    private void AdamCore(string caller, int step, string optimizer, float lr, float beta1, float beta2, float eps, float l2, float decay, Action? syncHost)
    {
        int optimizerStep = step;
        if (!CheckFinite) return;
        bool remeasure = Remeasure(syncHost);
        ExpectOwnUpdate(syncHost);
        if (!remeasure && AdamBounded(lr, beta1, beta2, eps, l2, decay, optimizerStep, commit: false))
        {
            AdamBounded(lr, beta1, beta2, eps, l2, decay, optimizerStep, commit: true);
            return;
        }
        Measure(caller, step, syncHost);
        if (AdamBounded(lr, beta1, beta2, eps, l2, decay, optimizerStep, commit: true)) return;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            var (index, value) = UpdateCheck.Adam(p.Value, p.Gradient, p.State1, p.State2, lr, beta1, beta2, eps, l2, decay, optimizerStep);
            if (index >= 0) ThrowUpdate(caller, step, optimizer, lr, p, index, value);
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
        bool remeasure = Remeasure(syncHost);
        ExpectOwnUpdate(syncHost);
        if (!remeasure && RmspropBounded(lr, alpha, eps, weightDecay, momentum, centered, commit: false))
        {
            RmspropBounded(lr, alpha, eps, weightDecay, momentum, centered, commit: true);
            return;
        }
        Measure(caller, step, syncHost);
        if (RmspropBounded(lr, alpha, eps, weightDecay, momentum, centered, commit: true)) return;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
            var p = _parameters[k];
            var (index, value) = UpdateCheck.Rmsprop(p.Value, p.Gradient, p.State1, p.State2, lr, alpha, eps, weightDecay, momentum, centered);
            if (index >= 0) ThrowUpdate(caller, step, "rmsprop", lr, p, index, value);
        }
        _boundsKnown = false;
    }

    private bool RmspropBounded(float lr, float alpha, float eps, float weightDecay, float momentum, bool centered, bool commit)
    {
        if (!_boundsKnown || !(eps > 0) || alpha is not (>= 0 and <= 1)) return false;
        double a = alpha, c = 1.0 - alpha, mu = Math.Abs((double)momentum), wd = Math.Abs((double)weightDecay), rate = Math.Abs((double)lr);
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
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

    private bool SgdBounded(float lr, float momentum, float weightDecay, bool nesterov, bool commit)
    {
        if (!_boundsKnown) return false;
        double mu = Math.Abs((double)momentum), wd = Math.Abs((double)weightDecay), rate = Math.Abs((double)lr);
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
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

    private bool AdamBounded(float lr, float beta1, float beta2, float eps, float l2, float decay, int optimizerStep, bool commit)
    {
        if (!_boundsKnown || !(eps > 0) || optimizerStep <= 0) return false;
        double stepSize = Math.Abs(lr / (1.0 - Math.Pow(beta1, optimizerStep)));
        double b1 = Math.Abs((double)beta1), c1 = Math.Abs(1.0 - beta1), b2 = Math.Abs((double)beta2), c2 = Math.Abs(1.0 - beta2);
        if (!(stepSize < Limit)) return false;
        for (int k = 0; k < _parameters.Count; k++)
        {
            if (IsFrozen(k)) continue;
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
