using System;
using ModelDsl.IR;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary>
    /// One layer the language knows: its source name, IR kind, signature and shape rule. The rule checks the
    /// inputs (ranks, dtypes, shapes), declares parameters and returns the output shape, or null after reporting
    /// why there is none.
    /// </summary>
    internal sealed class OpDefinition
    {
        public OpDefinition(string name, OpKind kind, Signature signature, Func<OpContext, Shape?> rule, DType? outputType = DType.F32)
        {
            Name = name;
            Kind = kind;
            Signature = signature;
            Rule = rule;
            OutputType = outputType;
        }

        public string Name { get; }
        public OpKind Kind { get; }
        public Signature Signature { get; }
        public Func<OpContext, Shape?> Rule { get; }

        /// <summary>The output element type; null means "same as the first input".</summary>
        public DType? OutputType { get; }
    }
}
