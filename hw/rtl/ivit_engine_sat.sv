// Saturate each of LANES signed 32-bit lanes to BITS bits (BITS >= 32: pass through).
module ivit_engine_sat #(
    parameter int LANES = 8
) (
    input  logic [5:0]          bits,
    input  logic [LANES*32-1:0] d,
    output logic [LANES*32-1:0] q
);
    logic signed [32:0] hi, lo;
    assign hi = (33'sd1 <<< (bits - 6'd1)) - 33'sd1;
    assign lo = -hi - 33'sd1;
    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [32:0] x;
        assign x = {d[l*32 + 31], d[l*32 +: 32]};
        always_comb begin
            if (bits >= 6'd32) q[l*32 +: 32] = d[l*32 +: 32];
            else if (x > hi) q[l*32 +: 32] = hi[31:0];
            else if (x < lo) q[l*32 +: 32] = lo[31:0];
            else q[l*32 +: 32] = d[l*32 +: 32];
        end
    end
endmodule
