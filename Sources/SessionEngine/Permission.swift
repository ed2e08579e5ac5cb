/// What a role may do. Enforced by the engine itself, never only by a front end.
public enum Permission: String, Sendable, Codable, CaseIterable {
    case sessionOpen = "session.open"
    case sessionContinue = "session.continue"
    case sessionClose = "session.close"
    case sessionCloseOthers = "session.close_others"
    case sessionForceClose = "session.force_close_others"
    case sessionViewOthers = "session.view_others"
    case cashMove = "cash.move"
    case cashApproveDifference = "cash.approve_difference"
    case parkedViewAll = "receipt.view_all_parked"
    case parkedTakeOver = "receipt.take_over"
    case refund = "receipt.refund"
    case printCopy = "receipt.copy"
    case training = "receipt.training"
    case discount = "receipt.discount"
    case priceOverride = "receipt.price_override"
    case drawerNoSale = "drawer.open_no_sale"
    case reportX = "report.x"
    case reportZ = "report.z"
    case manageUsers = "user.manage"
    case manageSettings = "settings.manage"

    var explanation: String {
        switch self {
        case .sessionOpen: return "open a shift"
        case .sessionContinue: return "continue another user's shift"
        case .sessionClose: return "close a shift"
        case .sessionCloseOthers: return "close another user's shift"
        case .sessionForceClose: return "force-close another user's shift or close the rescue shift"
        case .sessionViewOthers: return "view other staff's shifts"
        case .cashMove: return "put cash in or take it out"
        case .cashApproveDifference: return "approve a cash difference over the limit"
        case .parkedViewAll: return "see all parked receipts"
        case .parkedTakeOver: return "take over another user's parked receipt"
        case .refund: return "refund"
        case .printCopy: return "print a receipt copy"
        case .training: return "use training mode"
        case .discount: return "give discounts"
        case .priceOverride: return "override prices"
        case .drawerNoSale: return "open the drawer without a sale"
        case .reportX: return "print an X report"
        case .reportZ: return "print a Z report"
        case .manageUsers: return "manage users"
        case .manageSettings: return "change settings"
        }
    }
}

/// The built-in roles. Custom roles can be added in the `role_permission` table.
public enum BuiltInRole: String, Sendable, CaseIterable {
    case cashier, supervisor, manager

    public var permissions: Set<Permission> {
        let cashier: Set<Permission> = [.sessionOpen, .sessionContinue, .sessionClose, .cashMove, .printCopy, .training, .reportX, .discount]
        switch self {
        case .cashier: return cashier
        case .supervisor:
            return cashier.union([.refund, .parkedViewAll, .parkedTakeOver, .sessionViewOthers, .priceOverride, .drawerNoSale, .reportZ])
        case .manager: return Set(Permission.allCases)
        }
    }
}
