using System;
using System.Collections.Generic;
using System.Threading;

namespace ModelDsl.Runtime;

/// <summary>
/// The checks every generated model runs around its public methods (docs/training.md, "Non-finite values" and
/// "Threads"): one caller at a time, finite inputs and targets, a finite loss, finite gradients and an optimizer update
/// that cannot overflow, all before anything is written. One instance per model instance (the CPU model and each GPU
/// session own one); nothing here allocates on the passing path.
/// </summary>
public sealed partial class ModelGuard
{
    private readonly string _model;
    private readonly IReadOnlyList<Parameter> _parameters;
    private int _owner; // ManagedThreadId of the thread inside a call, 0 when none
    private string _ownerCaller = "";

    /// <param name="model">The model class name, for messages.</param>
    /// <param name="parameters">Every parameter in checkpoint order (their host arrays).</param>
    public ModelGuard(string model, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(parameters);
        _model = model;
        _parameters = parameters;
        int n = parameters.Count;
        _maxValue = new double[n];
        _maxState1 = new double[n];
        _maxState2 = new double[n];
        _maxGradient = new double[n];
    }

    /// <summary>
    /// Whether the non-finite checks run (default true). Off, the model neither scans inputs, loss, gradients and updates
    /// nor refuses to save non-finite parameters: for callers that handle NaN and ∞ themselves. The thread guard stays on.
    /// </summary>
    public bool CheckFinite { get; set; } = true;

    /// <summary>The global L2 norm of the gradients of the last checked step (NaN before the first, or with checks off).</summary>
    public double LastGradientNorm { get; private set; } = double.NaN;

    // ───── One caller at a time ──────────────────────────────────────────────────────────────────

    /// <summary>
    /// Marks the instance busy for the duration of a public call (<c>using var _ = guard.Enter("FashionMlp.TrainStep");</c>).
    /// A second thread entering meanwhile, or a nested call on the same thread (from a callback), gets an
    /// <see cref="InvalidOperationException"/> naming both calls instead of sharing the workspaces and corrupting
    /// both results. One compare-and-swap in and one store out: nanoseconds.
    /// </summary>
    public Scope Enter(string caller)
    {
        int me = Environment.CurrentManagedThreadId;
        int other = Interlocked.CompareExchange(ref _owner, me, 0);
        if (other != 0) ThrowBusy(caller, other == me);
        _ownerCaller = caller;
        return new Scope(this);
    }

    private void ThrowBusy(string caller, bool sameThread)
    {
        string inside = Volatile.Read(ref _ownerCaller);
        throw new InvalidOperationException(sameThread
            ? $"{caller}: called while {inside} is still running on the same thread (from a callback?); a {_model} instance runs one call at a time."
            : $"{caller}: another thread is inside {inside} on this {_model} instance. One instance serves one thread at a time: "
              + "its buffers, returned tensors and optimizer state are shared by every call. Use one instance per thread, or a lock (docs/training.md, \"Threads\").");
    }

    /// <summary>Ends the call <see cref="Enter"/> started.</summary>
    public readonly ref struct Scope
    {
        private readonly ModelGuard _guard;

        internal Scope(ModelGuard guard) => _guard = guard;

        public void Dispose() => Volatile.Write(ref _guard._owner, 0);
    }

    // ───── Inputs, targets, loss ─────────────────────────────────────────────────────────────────

    /// <summary>Checks a float input at entry: <c>FashionMlp.Forward: input 'x' holds NaN at row 3, column 17</c>.</summary>
    public void Input(string caller, string input, Tensor? tensor, int step) => Entry(caller, input, tensor, step, NonFiniteSource.Input);

    /// <summary>Checks a float label (target) at entry, like <see cref="Input"/>.</summary>
    public void Target(string caller, string label, Tensor? tensor, int step) => Entry(caller, label, tensor, step, NonFiniteSource.Target);

    private void Entry(string caller, string name, Tensor? tensor, int step, NonFiniteSource source)
    {
        if (!CheckFinite || tensor is null) return;
        int index = FiniteScan.IndexOfNonFinite(tensor.Span);
        if (index < 0) return;
        float value = tensor.Span[index];
        string what = source == NonFiniteSource.Input ? "input" : "label";
        throw new NonFiniteException(
            $"{caller}{StepText(step)}: {what} '{name}' holds {FiniteScan.Describe(value)} at {FiniteScan.Position(tensor.Shape, index)} (flat index {index}); "
            + "nothing was computed or changed. Clean the data, or set CheckFinite = false to handle non-finite values yourself.",
            source, name, index, step, value);
    }

    /// <summary>
    /// Checks the batch's mean loss. <paramref name="firstBad"/>, when given, is what the per-kernel re-run found
    /// (<see cref="KernelTrace.Found"/>); it is appended to the message.
    /// </summary>
    public void Loss(string caller, float loss, int step, string? firstBad = null)
    {
        if (!CheckFinite || float.IsFinite(loss)) return;
        throw new NonFiniteException(
            $"{caller}{StepText(step)}: the loss is {FiniteScan.Describe(loss)} although the inputs and targets are finite; "
            + $"nothing was changed (parameters, optimizer state and Step are as before the call).{Found(firstBad)}{LearningRateHint}",
            NonFiniteSource.Loss, "loss", -1, step, loss);
    }

    /// <summary>
    /// The fast test after a backward pass: a finite loss and a finite Σ g² per parameter (one vectorised pass over the
    /// gradients, which also records <see cref="LastGradientNorm"/> and the per-parameter norm that bounds |g| for the update check).
    /// False means <see cref="Loss"/> or <see cref="Gradients"/> will throw, after the caller has had the chance to re-run
    /// the step with a check after every kernel (<see cref="KernelTrace"/>). A Σ g² that only overflowed from finite
    /// elements counts as finite here.
    /// </summary>
    public bool StepIsFinite(float loss)
    {
        if (!float.IsFinite(loss)) return false;
        double total = 0;
        for (int k = 0; k < _parameters.Count; k++)
        {
            var p = _parameters[k];
            double sum = FiniteScan.SumOfSquares(p.Gradient);
            _maxGradient[k] = Math.Sqrt(sum); // ‖g‖ bounds every |g|: all the update check needs
            total += sum;
            if (!double.IsFinite(sum) && FiniteScan.IndexOfNonFinite(p.Gradient) >= 0) return false;
        }
        LastGradientNorm = Math.Sqrt(total);
        return true;
    }

    /// <summary>
    /// Checks every gradient with one vectorised pass (Σ g² per parameter), records
    /// <see cref="LastGradientNorm"/> and the per-parameter bound the update check uses. On a non-finite sum, finds the first
    /// parameter and element that is NaN or ±∞ and throws; a sum that only overflowed (elements above about 1.8e19, all
    /// finite) is not an error, and the update check then decides.
    /// </summary>
    public void Gradients(string caller, int step, string? firstBad = null)
    {
        if (!CheckFinite) return;
        double total = 0;
        for (int k = 0; k < _parameters.Count; k++)
        {
            var p = _parameters[k];
            double sum = FiniteScan.SumOfSquares(p.Gradient);
            _maxGradient[k] = Math.Sqrt(sum);
            total += sum;
            if (!double.IsFinite(sum)) ThrowIfGradientNonFinite(caller, step, k, firstBad);
        }
        LastGradientNorm = Math.Sqrt(total);
    }

    /// <summary>
    /// The GPU form of <see cref="Gradients"/>: the device reduced Σ g² over every parameter to one float. A finite sum
    /// bounds every |g| by the norm; a non-finite one makes <paramref name="syncHost"/> copy the gradients to the host
    /// parameters, where <see cref="Gradients"/> names the parameter and element.
    /// </summary>
    public void GradientNorm(string caller, int step, float sumOfSquares, Action syncHost)
    {
        if (!CheckFinite) return;
        ArgumentNullException.ThrowIfNull(syncHost);
        if (!float.IsFinite(sumOfSquares))
        {
            syncHost();
            Gradients(caller, step);
            return;
        }
        double norm = Math.Sqrt(sumOfSquares);
        LastGradientNorm = norm;
        Array.Fill(_maxGradient, norm);
    }

    private void ThrowIfGradientNonFinite(string caller, int step, int k, string? firstBad)
    {
        var p = _parameters[k];
        int index = FiniteScan.IndexOfNonFinite(p.Gradient);
        if (index < 0) return; // finite elements whose squares overflowed: not an error by itself
        float value = p.Gradient[index];
        throw new NonFiniteException(
            $"{caller}{StepText(step)}: the gradient of '{p.Name}' ({p.Source}) holds {FiniteScan.Describe(value)} at element {index} "
            + $"(the first non-finite gradient, in checkpoint order); the optimizer did not run and nothing was changed.{Found(firstBad)}{LearningRateHint}",
            NonFiniteSource.Gradient, p.Name, index, step, value, p.Source);
    }

    /// <summary>
    /// Refuses to write non-finite parameters (Save, ExportOnnx): <c>FashionMlp.Save: parameter 'logits.0.weight'
    /// (fashion_mlp.model:12) holds NaN at element 0; refusing to save it</c>.
    /// </summary>
    public void ParametersForWrite(string caller, string action, int step)
    {
        if (!CheckFinite) return;
        foreach (var p in _parameters)
        {
            int index = FiniteScan.IndexOfNonFinite(p.Value);
            if (index < 0) continue;
            float value = p.Value[index];
            throw new NonFiniteException(
                $"{caller}: parameter '{p.Name}' ({p.Source}) holds {FiniteScan.Describe(value)} at element {index}; refusing to {action} a model "
                + "with non-finite parameters (set CheckFinite = false to write it anyway).",
                NonFiniteSource.Parameter, p.Name, index, step, value, p.Source);
        }
    }

    private static string StepText(int step) => step > 0 ? $" (step {step})" : "";

    private static string Found(string? firstBad) => firstBad is null ? "" : " " + firstBad;

    private const string LearningRateHint = " A learning rate that is too large is the usual cause.";
}
