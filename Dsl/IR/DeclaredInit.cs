using ModelDsl.Text;

namespace ModelDsl.IR
{
    /// <summary>The initialiser functions an <c>init</c> statement can name (docs/language.md, "Initialisers").</summary>
    public enum InitFunction
    {
        /// <summary><c>normal(mean, std)</c>: <see cref="DeclaredInit.A"/> mean, <see cref="DeclaredInit.B"/> std.</summary>
        Normal,
        /// <summary><c>uniform(a, b)</c>: U(A, B).</summary>
        Uniform,
        /// <summary><c>zeros</c>, <c>ones</c>, <c>constant(c)</c>: every element A.</summary>
        Constant,
        /// <summary><c>xavier_uniform(gain)</c>: A is the gain.</summary>
        XavierUniform,
        /// <summary><c>xavier_normal(gain)</c>: A is the gain.</summary>
        XavierNormal,
        /// <summary><c>kaiming_uniform(a, mode, nonlinearity)</c>: A is the gain, <see cref="DeclaredInit.Fan"/> the mode's fan.</summary>
        KaimingUniform,
        /// <summary><c>kaiming_normal(a, mode, nonlinearity)</c>: A is the gain, Fan the mode's fan.</summary>
        KaimingNormal,
    }

    /// <summary>
    /// An initialiser an <c>init pattern function(...)</c> statement gives one parameter, resolved by the binder:
    /// the arguments (defaults filled in), the gain from <c>nonlinearity</c>, and the fans computed from the parameter's
    /// shape as PyTorch's <c>_calculate_fan_in_and_fan_out</c> does (fan-in <c>shape[1]·∏shape[2:]</c>, fan-out
    /// <c>shape[0]·∏shape[2:]</c>). <see cref="Source"/> is the statement's initialiser as written, for comments.
    /// </summary>
    public sealed record DeclaredInit(InitFunction Function, double A, double B, long FanIn, long FanOut, long Fan, string Source, TextSpan Span)
    {
        /// <summary>The one-line form used in comments and descriptions: <c>normal(0, 0.02)</c>.</summary>
        public override string ToString() => Source;
    }
}
