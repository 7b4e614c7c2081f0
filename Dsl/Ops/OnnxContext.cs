using System.Collections.Generic;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>What an op's ONNX lowering sees (<c>Emit/Onnx/OnnxLowering</c> implements it) while lowering one node.</summary>
    internal interface IOnnxContext
    {
        /// <summary>The ONNX value name of the node's input <paramref name="index"/>.</summary>
        string Input(int index);

        /// <summary>The node's output value name, made on first read: read it before <see cref="Fresh"/>.</summary>
        string Output { get; }

        /// <summary>A value name no parameter, input or earlier value has: the hint itself when free.</summary>
        string Fresh(string hint);

        void Emit(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes);

        /// <summary>A node with several outputs (<c>LSTM</c>'s Y and Y_h), named in the op's output order.</summary>
        void Emit(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes);

        /// <summary>The initializer for a parameter (its name), listed in the graph.</summary>
        string Use(ParameterInfo parameter);

        /// <summary>The initializer for an f32 layer state (batch_norm's <c>running_mean</c>; its name), listed in the graph.</summary>
        string Use(StateInfo state);

        /// <summary>A float [<paramref name="count"/>] of <paramref name="value"/> everywhere (a scalar <c>Constant</c> expanded).</summary>
        string Filled(string hint, long count, float value);

        /// <summary>A <c>Constant</c> node holding integers.</summary>
        string Constant(string hint, IReadOnlyList<long> values);

        /// <summary>A weight [out, in] transposed once per graph (for <c>MatMul</c>).</summary>
        string Transposed(ParameterInfo weight);

        /// <summary>No node: the output is the input itself (dropout at inference).</summary>
        void PassThrough(int input);
    }
}
