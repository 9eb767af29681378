// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";
import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {StakingVault} from "../../../contracts/StakingVault.sol";
import {InferenceMarket} from "../../../contracts/InferenceMarket.sol";
import {MockVerificationModule} from "../../../contracts/mocks/MockVerificationModule.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";
import {IStakingVault} from "../../../contracts/interfaces/IStakingVault.sol";
import {IInferenceMarket} from "../../../contracts/interfaces/IInferenceMarket.sol";
import {IVerificationModule} from "../../../contracts/interfaces/IVerificationModule.sol";

/// @title MarketFixture
/// @notice Deploys the marketplace the way production wires it (registry -> module per mode, vault
/// authorising the market) with the scripted MockVerificationModule behind mode 0 and one model priced
/// in ETH and in a MockERC20. The test contract owns everything and the model.
///
/// Why deployment goes through `_new*` hooks: a `new X(...)` in a test contract embeds X's creation code,
/// and a contract deploying the whole marketplace exceeds the EIP-170/EIP-3860 size limits, which solc
/// reports as warnings (and this project's build treats warnings as errors). So each test file declares
/// small deployer libraries whose public functions do the `new` (libraries are linked, not embedded,
/// and run by DELEGATECALL, so the test contract is still the deployer) and implements the hooks with
/// them. The libraries must be declared in the test file itself: Hardhat 3 hands EDR artifacts only for
/// the compiled root files, so a library in a shared helper file is missing (clean tree) or stale
/// (after earlier builds) when a single test file is run (`hardhat test solidity <file>`).
abstract contract MarketFixture is Test {
    uint8 internal constant MODE = 0;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint16 internal constant BENEFICIARY_SHARE_BPS = 5_000;
    uint64 internal constant CLAIM_WINDOW = 1 hours;
    uint256 internal constant ETH_PRICE = 1 ether;
    uint256 internal constant TOKEN_PRICE = 100e18;
    uint256 internal constant OPERATOR_STAKE = 10 ether;

    address internal constant MARKET_TREASURY = address(0x7EA5);
    address internal constant VAULT_TREASURY = address(0x7EA6);

    ModelRegistry internal registry;
    StakingVault internal vault;
    InferenceMarket internal market;
    MockVerificationModule internal module;
    MockERC20 internal token;
    uint256 internal modelId;

    // ------------------------------------------------------------------ deployment hooks

    function _newRegistry(address owner) internal virtual returns (ModelRegistry);

    function _newVault(
        address owner,
        address asset,
        address treasury,
        uint64 unbondingDelay,
        uint16 beneficiaryShareBps
    ) internal virtual returns (StakingVault);

    function _newMarket(
        address owner,
        IModelRegistry registry_,
        IStakingVault vault_,
        InferenceMarket.Parameters memory params
    ) internal virtual returns (InferenceMarket);

    function _newModule(address market_) internal virtual returns (MockVerificationModule);

    function _newToken() internal virtual returns (MockERC20);

    // ------------------------------------------------------------------ setup helpers

    function _deployMarket(uint16 protocolFeeBps, uint16 noShowSlashBps) internal {
        registry = _newRegistry(address(this));
        vault = _newVault(address(this), address(0), VAULT_TREASURY, UNBONDING_DELAY, BENEFICIARY_SHARE_BPS);
        market = _newMarket(
            address(this),
            registry,
            vault,
            InferenceMarket.Parameters({
                treasury: MARKET_TREASURY,
                protocolFeeBps: protocolFeeBps,
                noShowSlashBps: noShowSlashBps,
                claimWindow: CLAIM_WINDOW,
                maxCallbackGas: 500_000
            })
        );
        module = _newModule(address(market));
        token = _newToken();
        registry.setModeModule(MODE, module);
        vault.setAuthorised(address(market), true);
        market.setTokenAllowed(address(token), true);

        IModelRegistry.ModeConfig[] memory modes = new IModelRegistry.ModeConfig[](1);
        modes[0] = IModelRegistry.ModeConfig({mode: MODE, config: ""});
        modelId = registry.registerModel(keccak256("model"), "ipfs://model", ETH_PRICE, OPERATOR_STAKE, modes);
        registry.setPrice(modelId, address(token), TOKEN_PRICE);
    }

    /// @dev Stakes `amount` for `operator` and declares it an operator of the model.
    function _stakeOperator(address operator, uint256 amount) internal {
        vm.deal(operator, operator.balance + amount);
        vm.startPrank(operator);
        vault.stake{value: amount}(amount);
        vault.setService(modelId, IStakingVault.Role.Operator, true);
        vm.stopPrank();
    }

    function _params(
        address payToken,
        uint256 maxFee,
        uint64 deadline
    ) internal view returns (IInferenceMarket.RequestParams memory) {
        return
            IInferenceMarket.RequestParams({
                modelId: modelId,
                mode: MODE,
                token: payToken,
                maxFee: maxFee,
                deadline: deadline,
                input: hex"0102",
                inputHash: bytes32(0),
                inputURI: "",
                callback: address(0),
                callbackGasLimit: 0,
                termsHash: bytes32(0)
            });
    }

    /// @dev Creates a request paying exactly the quote (ETH or token, minting and approving tokens).
    function _createRequest(address requester, address payToken, uint64 deadline) internal returns (uint256 requestId) {
        (uint256 price, uint256 fee) = market.quote(modelId, MODE, payToken);
        uint256 required = price + fee;
        if (payToken == address(0)) {
            vm.deal(requester, requester.balance + required);
            vm.prank(requester);
            requestId = market.createRequest{value: required}(_params(payToken, required, deadline));
        } else {
            token.mint(requester, required);
            vm.prank(requester);
            token.approve(address(market), required);
            vm.prank(requester);
            requestId = market.createRequest(_params(payToken, required, deadline));
        }
    }

    function _settlement(
        bool accepted,
        address payee,
        uint256 slash,
        address beneficiary,
        IVerificationModule.Reward[] memory rewards
    ) internal pure returns (IVerificationModule.Settlement memory) {
        return
            IVerificationModule.Settlement({
                accepted: accepted,
                output: hex"c0ffee",
                payee: payee,
                operatorSlash: slash,
                slashBeneficiary: beneficiary,
                rewards: rewards
            });
    }
}
