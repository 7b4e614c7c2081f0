using System.Collections.Generic;
using System.Linq;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// The names the CUDA emitter writes itself, which a buffer's kernel parameter must not become: C and C++ keywords,
    /// CUDA's built-ins and vector types, the math functions and macros the kernels use (the emulation header's and
    /// g++'s included), the generated kernels' locals and the temporaries they number. The prelude's and the layer
    /// library's own names start with <c>md_</c> or <c>MD_</c>, which a buffer's name never keeps.
    /// </summary>
    internal static class CudaNames
    {
        private static readonly string[] Keywords =
        {
            "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char", "char8_t",
            "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr", "constinit", "const_cast", "continue",
            "co_await", "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit",
            "export", "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new",
            "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
            "reinterpret_cast", "requires", "restrict", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast",
            "struct", "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename", "union",
            "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq", "std", "size_t",
        };

        /// <summary>CUDA built-ins, the math functions and macros in reach of a kernel (NVRTC's, and g++'s for the emulator).</summary>
        private static readonly string[] BuiltIns =
        {
            "threadIdx", "blockIdx", "blockDim", "gridDim", "warpSize", "dim3", "INFINITY", "NAN", "NULL", "EOF", "errno", "assert",
            "stdin", "stdout", "stderr", "linux", "unix", "i386", "major", "minor", "makedev", "cuda_emulation",
            "expf", "logf", "fmaxf", "fminf", "fabsf", "sqrtf", "rsqrtf", "powf", "tanhf", "exp", "log", "max", "min", "abs",
        };

        /// <summary>Locals and parameters of the generated kernels (loss, loss mean, optimizer, elementwise).</summary>
        private static readonly string[] Locals =
        {
            "rows", "cols", "n", "i", "c", "r", "k", "b", "d", "g", "m", "s", "v", "lane", "row", "in_row", "row_max", "row_sum", "class_id",
            "grad_row", "inv_rows", "inv_sum", "gradient", "loss_terms", "count", "terms", "mean", "partial", "stride", "part", "pv", "vv",
            "mv", "denom", "back", "velocity", "lr", "step_size", "bc2_sqrt", "decay", "z_i", "t_i", "err_i", "inv_n", "two_over_n",
        };

        public static IEnumerable<string> Reserved =>
            Keywords.Concat(BuiltIns).Concat(Locals).Concat(VectorTypes());

        /// <summary>Temporaries the kernels number: <c>v3</c>, each dropout slot's <c>seed0</c>, <c>p0</c>, <c>scale0</c>, a column sum's <c>partial0</c>, <c>sum0</c>, <c>total0</c>.</summary>
        public static readonly IReadOnlyList<string> Numbered = new[] { "v", "seed", "p", "scale", "partial", "sum", "total" };

        /// <summary>Prefixes of the prelude's and library's names (<c>md_relu</c>, <c>MD_GELU_K</c>), and C++'s reserved <c>__</c> and <c>_X</c>.</summary>
        public static readonly IReadOnlyList<string> Prefixes = new[] { "md_", "MD_", "_", "make_" };

        private static IEnumerable<string> VectorTypes()
        {
            foreach (var type in new[] { "char", "uchar", "short", "ushort", "int", "uint", "long", "ulong", "longlong", "ulonglong", "float", "double" })
            {
                for (int n = 1; n <= 4; n++) yield return type + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }
}
